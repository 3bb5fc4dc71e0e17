using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Recurrent.Benchmarks;

/// <summary>A benchmark parameter that knows how many floating-point operations one invocation performs.</summary>
public interface IHasFlops
{
    double Flops { get; }
}

/// <summary>Adds <see cref="GflopsColumn"/> to a benchmark class whose "Shape" parameter is an <see cref="IHasFlops"/>.</summary>
public sealed class GflopsConfig : ManualConfig
{
    public GflopsConfig() => AddColumn(new GflopsColumn());
}

/// <summary>GFLOP/s = the Shape parameter's FLOPs / mean time (FLOPs per nanosecond are 10^9 FLOP/s).</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Floating-point operations of the matrix products per second / 10^9: the Shape's FLOPs / mean";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        if (report?.ResultStatistics is null || benchmarkCase.Parameters["Shape"] is not IHasFlops shape)
        {
            return "-";
        }

        return (shape.Flops / report.ResultStatistics.Mean).ToString("F1", CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
