using System.Diagnostics;
using System.Globalization;
using Recurrent.Kernels;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// <c>weight-formats [--seconds S]</c>: the same layer with Float32 and with BFloat16 weights in one process, one thread,
/// a call of each in turn (which one goes first alternates), for S seconds a shape (default 8); prints the median of
/// the pairs' time ratios (Float32 / BFloat16) with its quartiles, as a Markdown table. The shapes are the suite's
/// batch-1 ones (S1, S3–S5), ST (one Step a time step), S2 (batch 4) and L1 (batch 64), run as the compare command
/// runs ours (<see cref="OursRunner"/>). In-process pairs see the same moments of a noisy machine, which separate
/// BenchmarkDotNet runs (<c>--filter '*WeightFormatBenchmarks*'</c>) do not.
/// </summary>
internal static class WeightFormatPairs
{
    public const string Verb = "weight-formats";

    private static readonly string[] ShapeIds = ["S1", "S3", "S4", "S5", "ST", "S2", "L1"];

    public static int Run(string[] args)
    {
        double seconds = 8;
        if (args is ["--seconds", string value])
        {
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) || seconds <= 0)
            {
                Console.Error.WriteLine($"--seconds: expected a positive number, got '{value}'.");
                return 2;
            }
        }
        else if (args.Length > 0)
        {
            Console.Error.WriteLine($"usage: {Verb} [--seconds S]   (default 8 seconds a shape)");
            return 2;
        }

        Console.WriteLine(FormattableString.Invariant(
            $"Float32 against BFloat16 weights, one thread, {seconds:0.#} s a shape; kernel path {Gemm.BestPath}, {MachineDescription.Current(".").Cpu}"));
        Console.WriteLine();
        Console.WriteLine("| shape | Float32 ms | BFloat16 ms | Float32 / BFloat16, median of the pairs (quartiles) | pairs |");
        Console.WriteLine("|---|--:|--:|--:|--:|");
        foreach (string id in ShapeIds)
        {
            CompareShape shape = CompareShape.All.Single(s => s.Id == id);
            using OursRunner floats = Create(shape, WeightFormat.Float32);
            using OursRunner compact = Create(shape, WeightFormat.BFloat16);
            Console.WriteLine(Row(shape, Pairs(floats, compact, seconds)));
        }

        return 0;
    }

    private static OursRunner Create(CompareShape shape, WeightFormat format)
    {
        RecurrentLayer layer = shape.Shape.CreateLayer();
        layer.WeightFormat = format;
        return OursRunner.Create(layer, shape.Shape.CreateInput(), shape.Streaming, threads: 1, out string? reason)
            ?? throw new InvalidOperationException(reason);
    }

    /// <summary>Time pairs (Float32 ms, BFloat16 ms) for <paramref name="seconds"/>, after a few calls of each.</summary>
    private static List<(double Floats, double Compact)> Pairs(OursRunner floats, OursRunner compact, double seconds)
    {
        for (int i = 0; i < 5; i++)
        {
            floats.Run();
            compact.Run();
        }

        var pairs = new List<(double, double)>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || pairs.Count < 5)
        {
            bool floatsFirst = pairs.Count % 2 == 0;
            double first = Time(floatsFirst ? floats : compact), second = Time(floatsFirst ? compact : floats);
            pairs.Add(floatsFirst ? (first, second) : (second, first));
        }

        return pairs;
    }

    private static double Time(OursRunner runner)
    {
        long start = Stopwatch.GetTimestamp();
        runner.Run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static string Row(CompareShape shape, List<(double Floats, double Compact)> pairs)
    {
        double[] ratios = [.. pairs.Select(p => p.Floats / p.Compact).Order()];
        double[] floats = [.. pairs.Select(p => p.Floats).Order()], compact = [.. pairs.Select(p => p.Compact).Order()];
        int n = ratios.Length;
        return FormattableString.Invariant(
            $"| {shape.Id} {shape.Description} | {floats[n / 2]:0.###} | {compact[n / 2]:0.###} | {ratios[n / 2]:0.00} ({ratios[n / 4]:0.00}–{ratios[3 * n / 4]:0.00}) | {n} |");
    }
}
