namespace Recurrent.Benchmarks.Compare;

/// <summary>What each library reported for one shape at one thread count. <see cref="PyTorch"/> is null when PyTorch is not available.</summary>
/// <param name="Paired">Ours and ONNX Runtime timed in alternation in one process, at this thread count.</param>
/// <param name="ThreadPair">At 2 threads, when the run had both thread counts: ours at 2 and at 1 thread timed in
/// alternation in one process; else null.</param>
internal sealed record ShapeRun(
    CompareShape Shape, int Threads, WorkerResult Ours, WorkerResult Ort, WorkerResult? PyTorch, WorkerResult? Paired = null, WorkerResult? ThreadPair = null)
{
    public IEnumerable<(string Library, WorkerResult Result)> Results()
    {
        yield return ("ours", Ours);
        yield return ("ONNX Runtime", Ort);
        if (PyTorch is not null)
        {
            yield return ("PyTorch", PyTorch);
        }

        if (Paired is not null)
        {
            yield return ("ours and ONNX Runtime, paired", Paired);
        }

        if (ThreadPair is not null)
        {
            yield return ("ours at 2 and 1 threads, paired", ThreadPair);
        }
    }
}

/// <summary>Everything the Markdown report states: when, where, with what, how measured, and the runs.</summary>
internal sealed record CompareReport(
    DateTimeOffset Started,
    TimeSpan Duration,
    string Command,
    MachineDescription Machine,
    MachineLimits LimitsAtStart,
    MachineLimits LimitsAtEnd,
    string OursVersion,
    string OrtVersion,
    PyTorchPeer? PyTorch,
    string PyTorchUnavailableReason,
    TimingPolicy Timing,
    TimingPolicy PairedTiming,
    int Rounds,
    double Tolerance,
    int[] Threads,
    IReadOnlyList<ShapeRun> Runs)
{
    /// <summary>The better of the two measurements of each figure: what % of peak and the L2 bounds are computed from.</summary>
    public MachineLimits Limits => MachineLimits.Best(LimitsAtStart, LimitsAtEnd);

    /// <summary>Runs in which some library failed its check or reported an error: the command fails when there is any.</summary>
    public IEnumerable<(ShapeRun Run, string Library, WorkerResult Result)> Failures() =>
        Runs.SelectMany(run => run.Results().Select(r => (run, r.Library, r.Result)))
            .Where(r => r.Result.Status is WorkerResult.CheckFailed or WorkerResult.Error);
}
