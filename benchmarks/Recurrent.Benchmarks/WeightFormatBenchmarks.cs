using BenchmarkDotNet.Attributes;
using Recurrent.Benchmarks.Compare;

namespace Recurrent.Benchmarks;

/// <summary>
/// The batch-1 shapes, whose time is reading the weights (S1 from L2, S3–S5 from L3) and streaming (ST, S1's layer one
/// step per call), with the weights in each <see cref="WeightFormat"/>, on one thread. Called as the compare command
/// calls ours: <c>Forward</c> into buffers with a workspace, or <c>Step</c> into caller buffers (<see cref="OursRunner"/>).
/// </summary>
[Config(typeof(GflopsConfig))]
public class WeightFormatBenchmarks
{
    private OursRunner _runner = null!;

    public static IEnumerable<WeightFormatCase> Shapes =>
        CompareShape.All.Where(s => s.Id is "S1" or "S3" or "S4" or "S5" or "ST").Select(s => new WeightFormatCase(s.Shape, s.Streaming));

    [ParamsSource(nameof(Shapes))]
    public WeightFormatCase Shape { get; set; } = new(SuiteShape.All[0], Streaming: false);

    [Params(WeightFormat.Float32, WeightFormat.BFloat16)]
    public WeightFormat Format { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RecurrentLayer layer = Shape.Shape.CreateLayer();
        layer.WeightFormat = Format;
        _runner = OursRunner.Create(layer, Shape.Shape.CreateInput(), Shape.Streaming, threads: 1, out string? reason)
            ?? throw new InvalidOperationException(reason);
    }

    [GlobalCleanup]
    public void Cleanup() => _runner.Dispose();

    [Benchmark]
    public void Forward() => _runner.Run();
}

/// <summary>A suite shape, run as one Forward or (<see cref="Streaming"/>, "ST") one Step per time step.</summary>
public sealed record WeightFormatCase(SuiteShape Shape, bool Streaming) : IHasFlops
{
    public double Flops => Shape.Flops;

    public override string ToString() => Shape.Id;
}
