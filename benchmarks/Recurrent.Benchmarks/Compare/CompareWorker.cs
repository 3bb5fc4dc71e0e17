using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// The hidden <c>compare-worker</c> verb: one library (ours or ONNX Runtime), one shape, one thread count, in a process
/// of its own, so that its peak resident set is its own and no other library's threads or heap disturb its timing.
/// It checks the library's outputs against the case file's before timing, and prints one <see cref="WorkerResult"/>
/// JSON line on stdout.
/// </summary>
internal static class CompareWorker
{
    public const string Verb = "compare-worker";
    public const string Ours = "ours";
    public const string Ort = "ort";

    /// <summary>Ours and ONNX Runtime in one process, timed in alternation (<see cref="RunTimer.MeasurePairs"/>).</summary>
    public const string Paired = "paired";

    /// <summary>Ours at 2 threads and at 1 thread in one process, timed in alternation (<see cref="RunTimer.MeasurePairs"/>).</summary>
    public const string ThreadPair = "thread-pair";

    /// <summary>Arguments for one worker run: the library, the shape, its case file, threads, tolerance and timing.</summary>
    public static string[] Arguments(string library, CompareShape shape, string casePath, int threads, double tolerance, TimingPolicy timing) =>
    [
        Verb, "--library", library, "--shape", shape.Id, "--case", casePath,
        "--threads", threads.ToString(CultureInfo.InvariantCulture),
        "--tolerance", tolerance.ToString("R", CultureInfo.InvariantCulture),
        .. timing.ToArgs(),
    ];

    public static int Run(IReadOnlyList<string> args)
    {
        WorkerResult result;
        try
        {
            result = RunCore(args);
        }
#pragma warning disable CA1031 // Any failure becomes the worker's reported error; the parent shows it and goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            result = new WorkerResult(WorkerResult.Error, Reason: $"{ex.GetType().Name}: {ex.Message}");
        }

        Console.Out.WriteLine(result.ToJson());
        return result.Status == WorkerResult.Error ? 1 : 0;
    }

    private static WorkerResult RunCore(IReadOnlyList<string> args)
    {
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Count; i += 2)
        {
            named[args[i]] = args[i + 1];
        }

        string library = named["--library"];
        CompareShape shape = CompareShape.Select([named["--shape"]])[0];
        int threads = int.Parse(named["--threads"], CultureInfo.InvariantCulture);
        double tolerance = double.Parse(named["--tolerance"], CultureInfo.InvariantCulture);
        TimingPolicy timing = TimingPolicy.FromArgs(named);

        // Baseline: the runtime and the library are loaded (ONNX Runtime's native library too), the case is not read yet.
        if (library is Ort or Paired)
        {
            _ = OrtEnv.Instance();
        }
        else if (library is not (Ours or ThreadPair))
        {
            throw new ArgumentException($"Unknown library '{library}'.", nameof(args));
        }

        double baselineMiB = PeakMiB();
        var (layer, input, expected) = CaseFile.Read(named["--case"], shape);
        if (library == Paired)
        {
            return RunPaired(layer, input, expected, shape, threads, tolerance, timing, baselineMiB);
        }

        if (library == ThreadPair)
        {
            return RunThreadPair(layer, CaseFile.Read(named["--case"], shape).Layer, input, expected, shape, tolerance, timing, baselineMiB);
        }

        string? unavailable = null;
        using ILibraryRunner? runner = library == Ort
            ? new OrtPeer(layer, input, shape.Streaming, threads)
            : OursRunner.Create(layer, input, shape.Streaming, threads, out unavailable);
        if (runner is null)
        {
            return new WorkerResult(WorkerResult.Unavailable, Reason: unavailable);
        }

        // The check comes first: a library whose outputs are wrong is not timed.
        runner.Run();
        double diff = expected.MaxAbsDiff(runner.LastOutputs());
        if (!(diff <= tolerance))
        {
            return new WorkerResult(WorkerResult.CheckFailed, Reason: Invariant($"max |Δ| = {diff:0.00E0} > {tolerance:0E0}"), Version: runner.Version,
                MaxAbsDiff: diff, BaselineMiB: baselineMiB, PeakMiB: PeakMiB());
        }

        var (medianMs, runs) = RunTimer.Measure(runner.Run, timing);

        // The timed runs must still compute the same thing (streaming resets its state; nothing may leak across runs).
        double finalDiff = expected.MaxAbsDiff(runner.LastOutputs());
        if (!(finalDiff <= tolerance))
        {
            return new WorkerResult(WorkerResult.CheckFailed, Reason: Invariant($"after timing, max |Δ| = {finalDiff:0.00E0} > {tolerance:0E0}"),
                Version: runner.Version, MaxAbsDiff: finalDiff, BaselineMiB: baselineMiB, PeakMiB: PeakMiB());
        }

        return new WorkerResult(WorkerResult.Ok, Version: runner.Version, MedianMs: medianMs, Runs: runs,
            MaxAbsDiff: Math.Max(diff, finalDiff), BaselineMiB: baselineMiB, PeakMiB: PeakMiB());
    }

    /// <summary>
    /// After a 2-thread run of ours, its helper spins for up to ~50 µs before it sleeps; the pairs wait this long, untimed,
    /// after each run, so that the spinning never overlaps ONNX Runtime's run (whose idle pool threads sleep at once,
    /// with spinning off). Our helper is asleep at the start of each of our runs either way: the other library's run
    /// between two of ours is longer than its spin.
    /// </summary>
    internal static readonly TimeSpan SettleBetweenRuns = TimeSpan.FromMicroseconds(200);

    /// <summary>Ours and ONNX Runtime on the same case in this process: both checked, then timed a run of each in turn
    /// (at more than one thread with <see cref="SettleBetweenRuns"/> after each run).</summary>
    private static WorkerResult RunPaired(
        RecurrentLayer layer, Tensor<float> input, CaseOutputs expected, CompareShape shape, int threads, double tolerance, TimingPolicy timing, double baselineMiB)
    {
        using ILibraryRunner? ours = OursRunner.Create(layer, input, shape.Streaming, threads, out string? unavailable);
        if (ours is null)
        {
            return new WorkerResult(WorkerResult.Unavailable, Reason: unavailable);
        }

        using var ort = new OrtPeer(layer, input, shape.Streaming, threads);
        ours.Run();
        ort.Run();
        double diff = Math.Max(expected.MaxAbsDiff(ours.LastOutputs()), expected.MaxAbsDiff(ort.LastOutputs()));
        if (!(diff <= tolerance))
        {
            return new WorkerResult(WorkerResult.CheckFailed, Reason: Invariant($"max |Δ| = {diff:0.00E0} > {tolerance:0E0}"), Version: ort.Version, MaxAbsDiff: diff);
        }

        var (oursMs, peerMs, ratio, pairs) = RunTimer.MeasurePairs(ours.Run, ort.Run, timing, threads > 1 ? SettleBetweenRuns : TimeSpan.Zero);
        return new WorkerResult(WorkerResult.Ok, Version: ort.Version, MedianMs: oursMs, Runs: pairs, MaxAbsDiff: diff,
            BaselineMiB: baselineMiB, PeakMiB: PeakMiB(), PeerMedianMs: peerMs, PairRatio: ratio);
    }

    /// <summary>
    /// Ours at 2 threads (<paramref name="layer"/>) and at 1 thread (<paramref name="twin"/>, the same case read again) on
    /// the same input in this process: both checked against the reference, then timed a run of each in turn. The 2-thread
    /// outputs must equal the 1-thread ones (|Δ| = 0, before and after timing), as the README promises; MaxAbsDiff
    /// is their largest difference, so 0.
    /// </summary>
    private static WorkerResult RunThreadPair(
        RecurrentLayer layer, RecurrentLayer twin, Tensor<float> input, CaseOutputs expected, CompareShape shape, double tolerance, TimingPolicy timing, double baselineMiB)
    {
        using ILibraryRunner? two = OursRunner.Create(layer, input, shape.Streaming, 2, out string? twoUnavailable);
        using ILibraryRunner? one = OursRunner.Create(twin, input, shape.Streaming, 1, out string? oneUnavailable);
        if (two is null || one is null)
        {
            return new WorkerResult(WorkerResult.Unavailable, Reason: twoUnavailable ?? oneUnavailable);
        }

        two.Run();
        one.Run();
        double diff = Math.Max(expected.MaxAbsDiff(two.LastOutputs()), expected.MaxAbsDiff(one.LastOutputs()));
        if (!(diff <= tolerance))
        {
            return new WorkerResult(WorkerResult.CheckFailed, Reason: Invariant($"max |Δ| = {diff:0.00E0} > {tolerance:0E0}"), Version: two.Version, MaxAbsDiff: diff);
        }

        double between = two.LastOutputs().MaxAbsDiff(one.LastOutputs());
        var (twoMs, oneMs, ratio, pairs) = RunTimer.MeasurePairs(two.Run, one.Run, timing);
        between = Math.Max(between, two.LastOutputs().MaxAbsDiff(one.LastOutputs()));
        if (between != 0)
        {
            return new WorkerResult(WorkerResult.CheckFailed, Reason: Invariant($"2 threads differ from 1 thread by up to {between:0.00E0} (must be equal)"),
                Version: two.Version, MaxAbsDiff: between);
        }

        return new WorkerResult(WorkerResult.Ok, Version: two.Version, MedianMs: twoMs, Runs: pairs, MaxAbsDiff: between,
            BaselineMiB: baselineMiB, PeakMiB: PeakMiB(), PeerMedianMs: oneMs, PairRatio: ratio);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The process's peak resident set so far (VmHWM on Linux), in MiB.</summary>
    private static double PeakMiB()
    {
        using Process self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
