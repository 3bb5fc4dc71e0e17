using System.Globalization;
using System.Text;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// Writes a <see cref="CompareReport"/> as Markdown: the setup, one table per thread count, the output checks, and
/// what every column means. A cell that has no number says why: "n/a" (the library cannot run that configuration),
/// "failed" (its check failed or it reported an error; listed under Problems), "–" (the column does not apply).
/// </summary>
internal static class MarkdownTable
{
    private const string NotApplicable = "–";

    public static string Write(CompareReport report)
    {
        var md = new StringBuilder();
        MachineLimits limits = report.Limits;
        md.AppendLine("# Side-by-side comparison: Recurrent, ONNX Runtime, PyTorch");
        md.AppendLine();
        md.AppendLine(Invariant($"Made on {report.Started:yyyy-MM-dd HH:mm} UTC by `{report.Command}` (the whole run took {report.Duration.TotalMinutes:0.0} min)."));
        md.AppendLine();
        md.AppendLine("| | |");
        md.AppendLine("|---|---|");
        md.AppendLine(Invariant($"| machine | {report.Machine.Cpu}, {report.Machine.LogicalCores} logical cores; {report.Machine.Os} |"));
        MachineLimits start = report.LimitsAtStart, end = report.LimitsAtEnd;
        md.AppendLine(Invariant($"| fp32 FMA peak, measured | {limits.PeakGflops1:0} GFLOP/s on 1 core, {limits.PeakGflops2:0} GFLOP/s on 2 cores ({limits.VectorWidth}, 12 independent FMA chains per core; at the start {start.PeakGflops1:0} / {start.PeakGflops2:0}, at the end {end.PeakGflops1:0} / {end.PeakGflops2:0}) |"));
        md.AppendLine(Invariant($"| L2 read bandwidth, measured | {limits.L2GBps1:0} GB/s on 1 core, {limits.L2GBps2:0} GB/s on 2 cores (512 KiB working set per core; at the start {start.L2GBps1:0} / {start.L2GBps2:0}, at the end {end.L2GBps1:0} / {end.L2GBps2:0}) |"));
        if (limits.SetGBps1.Count > 0)
        {
            IEnumerable<string> sets = limits.SetGBps1.Keys.Order().Select(bytes => Invariant(
                $"{MemoryBound.Size(bytes)}: {limits.SetGBps1[bytes]:0} GB/s on 1 core, {limits.SetGBps2.GetValueOrDefault(bytes):0} GB/s on 2 cores (half each)"));
            md.AppendLine($"| read bandwidth of the memory-bound shapes' weights, measured | per working set (the weights a memory-bound shape reads every step, read forwards and backwards in turn), the better of the measurements at the start and at the end: {string.Join("; ", sets)} |");
        }

        md.AppendLine(Invariant($"| Recurrent (ours) | {report.OursVersion.Split('+')[0]}{(report.Machine.Commit is null ? "" : $", commit {report.Machine.Commit}")}; {report.Machine.Runtime}; evaluation mode, `MaxDegreeOfParallelism` = threads; `Forward` into output and state buffers created once, with a `ForwardWorkspace` (ST: `Step` into caller-owned buffers) |"));
        md.AppendLine(Invariant($"| ONNX Runtime | {report.OrtVersion} (NuGet Microsoft.ML.OnnxRuntime), CPU, in-process; IntraOpNumThreads = threads, InterOpNumThreads = 1, sequential, `session.intra_op.allow_spinning` = 0; the model from our ONNX export of the same layer; inputs and outputs are OrtValues over preallocated buffers, reused |"));
        md.AppendLine(report.PyTorch is { } torch
            ? Invariant($"| PyTorch | {torch.Version} ({torch.Python}; BLAS {torch.Blas}), benchmarks/pytorch_peer.py; `torch.inference_mode()`, `torch.set_num_threads(threads)`, OPENBLAS_NUM_THREADS=threads, OMP_WAIT_POLICY=PASSIVE; ST is a Python loop of one-step calls carrying (h, c){(torch.OnReferenceBlas ? $"; **{PyTorchPeer.ReferenceBlasWarning}**" : "")} |")
            : $"| PyTorch | not available ({report.PyTorchUnavailableReason}) |");
        string rounds = report.Rounds == 1
            ? "one round"
            : Invariant($"{report.Rounds} rounds, each over the whole suite (so a case's rounds lie minutes apart), the libraries one after the other per case, each library's fastest round reported");
        md.AppendLine($"| timing | each library in a process of its own, one at a time, per shape and thread count: {report.Timing.Describe()}; {rounds}; each library's outputs are checked against ours first |");
        md.AppendLine("| inputs | every library runs the same weights (our layer's seeded initialisation, handed over as a SafeTensors file) on the same seeded input, sequence-first, from zero states |");
        md.AppendLine();

        foreach (int threads in report.Threads)
        {
            WriteThreadTable(md, report, threads);
        }

        WritePairedTable(md, report);
        WriteThreadPairTable(md, report);
        WriteChecks(md, report);
        WriteProblems(md, report);
        WriteNotes(md, report);
        return md.ToString();
    }

    private static void WriteThreadTable(StringBuilder md, CompareReport report, int threads)
    {
        bool torch = report.PyTorch is not null;
        md.AppendLine($"## {Threads(threads)}");
        md.AppendLine();
        md.Append("| id | shape | ours ms | GFLOP/s | % of peak | ORT ms | ORT / ours |");
        md.Append(torch ? " PyTorch ms | PyTorch / ours |" : "");
        md.Append(" memory bound ms | ours / bound | peak MiB: ours | ORT |");
        md.AppendLine(torch ? " PyTorch |" : "");
        md.Append("|---|---|--:|--:|--:|--:|--:|");
        md.Append(torch ? "--:|--:|" : "");
        md.Append("--:|--:|--:|--:|");
        md.AppendLine(torch ? "--:|" : "");
        foreach (ShapeRun run in report.Runs.Where(r => r.Threads == threads))
        {
            CompareShape shape = run.Shape;
            double? ours = Milliseconds(run.Ours);
            double? bound = report.Limits.BoundMilliseconds(shape.MemoryBound, shape.Shape.Steps, threads);
            md.Append(Invariant($"| {shape.Id} | {shape.Description} | {Time(run.Ours)} | "));
            md.Append(ours is { } ms ? Invariant($"{shape.Flops / (ms * 1e6):0.0} | {100 * shape.Flops / (ms * 1e6) / report.Limits.PeakGflops(threads):0} | ") : $"{NotApplicable} | {NotApplicable} | ");
            md.Append(Invariant($"{Time(run.Ort)} | {Ratio(Milliseconds(run.Ort), ours)} | "));
            if (torch)
            {
                md.Append(Invariant($"{Time(run.PyTorch!)} | {Ratio(Milliseconds(run.PyTorch!), ours)} | "));
            }

            md.Append(bound is { } b ? Invariant($"{shape.MemoryBound!.WorkingSet}: {Number(b)} | {Ratio(ours, b)} | ") : $"{NotApplicable} | {NotApplicable} | ");
            md.Append(Invariant($"{Memory(run.Ours)} | {Memory(run.Ort)} |"));
            md.AppendLine(torch ? Invariant($" {Memory(run.PyTorch!)} |") : "");
        }

        md.AppendLine();
    }

    /// <summary>Ours and ONNX Runtime timed in alternation in one process, one table per thread count.</summary>
    private static void WritePairedTable(StringBuilder md, CompareReport report)
    {
        foreach (int threads in report.Threads)
        {
            WritePairs(
                md,
                $"{Threads(threads)}, ours and ONNX Runtime in one process, a run of each in turn",
                "ours ms | ORT ms | ORT / ours, median of the pairs | pairs",
                report.Runs.Where(r => r.Threads == threads).Select(r => (r, r.Paired)),
                result => (result.MedianMs!.Value, result.PeerMedianMs!.Value),
                diff: false);
        }
    }

    /// <summary>Ours at 2 threads against 1 thread, timed in alternation in one process (when the run had both).</summary>
    private static void WriteThreadPairTable(StringBuilder md, CompareReport report) => WritePairs(
        md,
        "Ours at 2 threads against 1 thread, in one process, a run of each in turn",
        "1t ms | 2t ms | 1t / 2t, median of the pairs | pairs | 2t against 1t, max \\|Δ\\|",
        report.Runs.Select(r => (r, r.ThreadPair)),
        result => (result.PeerMedianMs!.Value, result.MedianMs!.Value),
        diff: true);

    /// <summary>
    /// One table of a one-process pairing: per shape that has a result, its two median times (in the order
    /// <paramref name="times"/> gives them), the median ratio of the pairs and their count, and, with
    /// <paramref name="diff"/>, the largest difference between the two runs' outputs. Nothing when no shape has one.
    /// </summary>
    private static void WritePairs(
        StringBuilder md, string title, string columns, IEnumerable<(ShapeRun Run, WorkerResult? Result)> rows,
        Func<WorkerResult, (double First, double Second)> times, bool diff)
    {
        var results = rows.Where(row => row.Result is not null).ToList();
        if (results.Count == 0)
        {
            return;
        }

        md.AppendLine($"## {title}");
        md.AppendLine();
        md.AppendLine($"| id | shape | {columns} |");
        md.AppendLine(diff ? "|---|---|--:|--:|--:|--:|--:|" : "|---|---|--:|--:|--:|--:|");
        foreach (var (run, result) in results)
        {
            string last = !diff ? "" : result!.MaxAbsDiff is { } d ? $" {Diff(d)} |" : $" {Status(result)} |";
            if (result!.IsOk)
            {
                var (first, second) = times(result);
                md.AppendLine(Invariant($"| {run.Shape.Id} | {run.Shape.Description} | {Number(first)} | {Number(second)} | {result.PairRatio:0.00} | {result.Runs} |{last}"));
            }
            else
            {
                md.AppendLine($"| {run.Shape.Id} | {run.Shape.Description} | {Status(result)} | {Status(result)} | {Status(result)} | – |{last}");
            }
        }

        md.AppendLine();
    }

    private static void WriteChecks(StringBuilder md, CompareReport report)
    {
        md.AppendLine("## Output checks");
        md.AppendLine();
        md.AppendLine(Invariant($"Largest |difference| from our Forward's outputs over output, h_n and c_n, computed before timing (and again on the last timed run); a library beyond {report.Tolerance:0E0} fails the shape and is not timed. \"ours\" is our timed process against our reference run: 0 means the same bits."));
        md.AppendLine();
        var columns = new List<(string Header, Func<ShapeRun, WorkerResult?> Pick, int Threads)>();
        foreach (int threads in report.Threads)
        {
            string suffix = report.Threads.Length > 1 ? Invariant($", {threads}t") : "";
            columns.Add(($"ours{suffix}", r => r.Ours, threads));
            columns.Add(($"ORT{suffix}", r => r.Ort, threads));
            if (report.PyTorch is not null)
            {
                columns.Add(($"PyTorch{suffix}", r => r.PyTorch, threads));
            }
        }

        md.AppendLine($"| id | {string.Join(" | ", columns.Select(c => c.Header))} |");
        md.AppendLine($"|---|{string.Concat(columns.Select(_ => "--:|"))}");
        foreach (CompareShape shape in report.Runs.Select(r => r.Shape).Distinct())
        {
            md.Append($"| {shape.Id} |");
            foreach (var (_, pick, threads) in columns)
            {
                WorkerResult? result = report.Runs.Where(r => r.Shape == shape && r.Threads == threads).Select(pick).FirstOrDefault();
                md.Append(' ').Append(result?.MaxAbsDiff is { } diff ? Diff(diff) : result is null ? NotApplicable : Status(result)).Append(" |");
            }

            md.AppendLine();
        }

        md.AppendLine();
    }

    private static void WriteProblems(StringBuilder md, CompareReport report)
    {
        var failures = report.Failures().ToList();
        if (failures.Count == 0)
        {
            return;
        }

        md.AppendLine("## Problems");
        md.AppendLine();
        foreach (var (run, library, result) in failures)
        {
            md.AppendLine(Invariant($"- {run.Shape.Id}, {Threads(run.Threads)}, {library}: {result.Status}: {result.Reason}"));
        }

        md.AppendLine();
    }

    private static void WriteNotes(StringBuilder md, CompareReport report)
    {
        md.AppendLine("## Reading the tables");
        md.AppendLine();
        md.AppendLine("- ms: the median time of one run: one `Forward` over the sequence from zero states (ours into output and state buffers created once, with a `ForwardWorkspace`, as ONNX Runtime runs into OrtValues created once), or for ST the 150 one-step calls of a streamed sequence.");
        md.AppendLine("- GFLOP/s: FLOPs of the matrix products, Σ over layers and directions of 2·L·N·G·H·(H_in + H) with G = 4 (LSTM), 3 (GRU), 1 (RNN), over our time. % of peak: that over the measured FMA peak for the thread count (1 core or 2 cores), the better of the measurements at the start and at the end of the run.");
        MachineLimits start = report.LimitsAtStart, end = report.LimitsAtEnd;
        md.AppendLine(Invariant($"- Two cores: in this run the two-core FMA peak was {start.PeakGflops2 / start.PeakGflops1:0.00}× the one-core one at the start and {end.PeakGflops2 / end.PeakGflops1:0.00}× at the end. On this VM that ratio changes from run to run and within a run, as if its two vCPUs were sometimes hyperthreads of one physical core and sometimes two cores: 2-thread times are noisier than 1-thread ones, and a 2-thread ratio far from its neighbours' is more likely the machine than the library."));
        md.AppendLine("- X / ours: X's time over ours; above 1 means ours is faster. The libraries run one after the other, seconds apart, on a shared and noisy machine: read ratios within one run, not absolute times, and expect a few tens of percent of drift between runs.");
        md.AppendLine(Invariant($"- One process, a run of each in turn: after the rounds, at each thread count, ours and ONNX Runtime run in one process, alternately (which goes first alternates too), and each pair's ratio is taken ({report.PairedTiming.Describe().Replace("timed runs", "timed pairs", StringComparison.Ordinal).Replace("the median run is reported", "the median ratio is reported", StringComparison.Ordinal)}); the median of those ratios compares the two at the same moments of the machine, so a slow stretch that falls on one library's round does not decide it. At 2 threads the process waits {CompareWorker.SettleBetweenRuns.TotalMicroseconds:0} µs, untimed, after each run, so that our helper thread, which spins for up to ~50 µs after a run before it sleeps, never runs beside ONNX Runtime's run (ONNX Runtime's idle pool threads, with spinning off, sleep at once)."));
        md.AppendLine("- Ours at 2 threads against 1 thread, in one process: after the rounds, our layer at 2 threads and a second copy at 1 thread run alternately in one process, timed as the pairs above; 1t / 2t is the median of the pairs' speed-ups, which the separate 1- and 2-thread processes of the rounds can only estimate (each falls in its own stretch of the machine). The last column is the largest difference between the two copies' outputs, before and after timing: anything but 0 fails the shape, since results must not depend on the thread count.");
        md.AppendLine("- Memory bound (batch 1, where reading the weights takes longer than the FLOPs): every step of S1 reads W_hh, every one-step call of ST reads W_hh and W_ih (a call cannot hoist the input product), every step of S3, S4 and S5 reads W_hh and their input product reads W_ih once; so (once-read bytes + L × per-step bytes) / the read bandwidth the command measures on a working set of the per-step bytes (on 2 cores, each core its own half, as each thread then streams half of the weights) is a lower bound on the time. The cell names that working set. It is measured per set because what a core streams depends on where the set fits: a set larger than L2 (ST's 2 MiB at one thread) comes from L3. ours / bound: how far above it we are (1.11 is 90 % of the bound's speed).");
        WriteL2Figures(md, report);
        md.AppendLine("- peak MiB: the peak resident set (VmHWM) of the library's own process at the end of its run, which holds the runtime (.NET, or Python with torch), the library, the case's weights, input and expected outputs (for ONNX Runtime also our layer, which the model is exported from), and everything the warm-up and timed runs allocated and did not give back. In brackets: the growth over that process's own peak just before it read the case (runtime and library loaded), i.e. what this shape cost. For ours this includes garbage the GC had not yet collected.");
        md.AppendLine("- Spinning: both peers run with idle pool threads sleeping (ONNX Runtime `session.intra_op.allow_spinning` = 0, PyTorch OMP_WAIT_POLICY=PASSIVE). With their default spinning, a waiting thread takes the second vCPU from the working one on this machine: PyTorch at 2 threads ran 5 to 30 times slower than at 1 thread, ONNX Runtime 2 to 4 times slower on S1, S5 and ST. Neither setting changes anything at 1 thread.");
        md.AppendLine("- n/a: no number (the library could not run that configuration, or a ratio is missing one of its two times); –: not applicable.");
        if (report.PyTorch is null)
        {
            md.AppendLine($"- PyTorch: not available ({report.PyTorchUnavailableReason}).");
        }
    }

    /// <summary>S1's and ST's time over their bytes at the 512 KiB L2 figure: how the issue states their targets, although
    /// their working sets (1 and 2 MiB) are larger.</summary>
    private static void WriteL2Figures(StringBuilder md, CompareReport report)
    {
        var cells = new List<string>();
        foreach (ShapeRun run in report.Runs.Where(r => r.Shape.Id is "S1" or "ST"))
        {
            if (run.Shape.MemoryBound is { } bound && Milliseconds(run.Ours) is { } ours)
            {
                double l2 = bound.Milliseconds(run.Shape.Shape.Steps, report.Limits.L2GBps(run.Threads));
                cells.Add(Invariant($"{run.Shape.Id} at {Threads(run.Threads)} {ours / l2:0.00} ({Number(l2)} ms)"));
            }
        }

        if (cells.Count > 0)
        {
            md.AppendLine($"- The same bytes at the L2 figure above (512 KiB per core), as the issue states the S1 and ST targets: ours / that bound {string.Join(", ", cells)}.");
        }
    }

    private static double? Milliseconds(WorkerResult result) => result.IsOk ? result.MedianMs : null;

    private static string Time(WorkerResult result) => Milliseconds(result) is { } ms ? Number(ms) : Status(result);

    private static string Status(WorkerResult result) => result.Status switch
    {
        WorkerResult.Ok => "ok",
        WorkerResult.Unavailable => "n/a",
        _ => "failed",
    };

    internal static string Ratio(double? numerator, double? denominator) =>
        numerator is { } n && denominator is { } d ? Invariant($"{n / d:0.00}") : "n/a";

    private static string Memory(WorkerResult result) => result.PeakMiB is { } peak
        ? Invariant($"{peak:0} (+{Math.Max(0, peak - (result.BaselineMiB ?? peak)):0})")
        : Status(result);

    private static string Diff(double diff) => diff == 0 ? "0" : Invariant($"{diff:0.0E0}");

    /// <summary>Three significant digits, never in exponent form: 0.0991, 2.71, 71.7, 279, 1009.</summary>
    internal static string Number(double value) => value switch
    {
        >= 100 => Invariant($"{value:0}"),
        >= 10 => Invariant($"{value:0.0}"),
        >= 1 => Invariant($"{value:0.00}"),
        _ => value.ToString("G3", CultureInfo.InvariantCulture),
    };

    public static string Threads(int threads) => threads == 1 ? "1 thread" : Invariant($"{threads} threads");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
