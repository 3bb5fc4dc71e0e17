using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/Recurrent.Benchmarks -- compare [--quick] [--shapes ...] [--threads ...]</c>:
/// measures this machine's FMA peak and L2 bandwidth, then for each shape writes one case file (weights, input, our
/// outputs) and runs ours, ONNX Runtime and PyTorch on it, one process at a time, at each thread count. Progress goes to
/// stderr; the Markdown report goes to stdout and to benchmarks/results/compare.md.
/// </summary>
/// <remarks>
/// Exit code 0 when every library ran or was unavailable; 1 when some library failed its output check or reported an
/// error (the report is still written, with the failures listed); 2 on bad options.
/// </remarks>
internal static class CompareCommand
{
    public const string Verb = "compare";

    /// <summary>Largest |difference| from our outputs a peer may have; beyond it the shape fails for that peer.</summary>
    public const double Tolerance = 1e-3;

    private static readonly Stopwatch Clock = new();

    public static int Run(IReadOnlyList<string> args)
    {
        CompareOptions options;
        try
        {
            options = CompareOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }

        Clock.Start();
        DateTimeOffset started = DateTimeOffset.UtcNow;
        string root = RepositoryRoot();
        Progress("measuring this machine's limits (FMA peak, read bandwidth of L2 and of each memory-bound shape's weights)...");
        long[] workingSets = [.. options.Shapes.Select(s => s.MemoryBound).OfType<MemoryBound>().Select(b => b.BytesPerStep)];
        MachineLimits limitsAtStart = MachineLimits.Measure(workingSets);
        Progress($"  {limitsAtStart.VectorWidth}: {limitsAtStart.Describe()}");

        PyTorchPeer? pytorch = PyTorchPeer.Find(Path.Combine(root, "benchmarks", "pytorch_peer.py"), out string pytorchReason);
        Progress(pytorch is null ? $"PyTorch: not available ({pytorchReason})" : $"PyTorch {pytorch.Version} via {pytorch.Python}, BLAS {pytorch.Blas}");
        if (pytorch is { OnReferenceBlas: true })
        {
            Progress($"  warning: {PyTorchPeer.ReferenceBlasWarning}");
        }

        var runs = new List<ShapeRun>();
        DirectoryInfo temp = Directory.CreateTempSubdirectory("recurrent-compare-");
        try
        {
            var casePaths = new string[options.Shapes.Length];
            for (int i = 0; i < options.Shapes.Length; i++)
            {
                CompareShape shape = options.Shapes[i];
                Progress(Invariant($"[{i + 1,2}/{options.Shapes.Length}] {shape.Id} {shape.Description}: writing the case (our Forward gives the reference outputs)"));
                casePaths[i] = Path.Combine(temp.FullName, $"{shape.Id}.safetensors");
                CaseFile.Create(casePaths[i], shape);
            }

            // Each round runs the whole suite, the libraries one after the other per case (ours, ORT, PyTorch): a case's
            // rounds lie a whole suite apart, so a slow stretch of the shared machine (they last from seconds to
            // minutes) rarely covers all of one library's rounds; each library's fastest round is kept.
            var results = new Dictionary<(int Shape, int Threads), (List<WorkerResult> Ours, List<WorkerResult> Ort, List<WorkerResult> Torch)>();
            for (int round = 1; round <= options.Rounds; round++)
            {
                for (int i = 0; i < options.Shapes.Length; i++)
                {
                    CompareShape shape = options.Shapes[i];
                    foreach (int threads in options.Threads)
                    {
                        if (!results.TryGetValue((i, threads), out var lists))
                        {
                            lists = ([], [], []);
                            results[(i, threads)] = lists;
                        }

                        string where = Invariant($"[{i + 1,2}/{options.Shapes.Length}] {shape.Id} {threads}t") + (options.Rounds > 1 ? Invariant($" r{round}") : "");
                        lists.Ours.Add(Report(where, "ours", RunWorker(CompareWorker.Ours, shape, casePaths[i], threads, options.Timing)));
                        lists.Ort.Add(Report(where, "ORT", RunWorker(CompareWorker.Ort, shape, casePaths[i], threads, options.Timing)));
                        if (pytorch is not null)
                        {
                            lists.Torch.Add(Report(where, "PyTorch", pytorch.Run(casePaths[i], threads, Tolerance, options.Timing)));
                        }
                    }
                }
            }

            // Then, at each thread count, ours and ONNX Runtime in one process, a run of each in turn: both see the same
            // moments of the machine, so their ratio does not depend on which stretch each library's rounds fell in. (At 2
            // threads with a pause after each run, so that neither library's idle threads take time from the other's
            // run: CompareWorker.SettleBetweenRuns.)
            var paired = new Dictionary<(int Shape, int Threads), WorkerResult>();
            foreach (int threads in options.Threads)
            {
                for (int i = 0; i < options.Shapes.Length; i++)
                {
                    string where = Invariant($"[{i + 1,2}/{options.Shapes.Length}] {options.Shapes[i].Id} {threads}t paired");
                    paired[(i, threads)] = ReportPaired(where, RunWorker(CompareWorker.Paired, options.Shapes[i], casePaths[i], threads, options.PairedTiming));
                }
            }

            // And ours at 2 threads against 1 thread the same way: the speed-up and the bit-identity across thread counts
            // at the same moments of the machine. After a 2-thread run our helper spins for up to ~50 µs, then sleeps; the
            // 1-thread run next to it uses the other core, so no pause is needed.
            var threadPairs = new Dictionary<int, WorkerResult>();
            if (options.Threads.Contains(1) && options.Threads.Contains(2))
            {
                for (int i = 0; i < options.Shapes.Length; i++)
                {
                    string where = Invariant($"[{i + 1,2}/{options.Shapes.Length}] {options.Shapes[i].Id} 2t/1t paired");
                    threadPairs[i] = ReportThreadPair(where, RunWorker(CompareWorker.ThreadPair, options.Shapes[i], casePaths[i], 2, options.PairedTiming));
                }
            }

            for (int i = 0; i < options.Shapes.Length; i++)
            {
                foreach (int threads in options.Threads)
                {
                    var (ours, ort, torch) = results[(i, threads)];
                    runs.Add(new ShapeRun(
                        options.Shapes[i], threads, WorkerResult.Fastest(ours), WorkerResult.Fastest(ort), pytorch is null ? null : WorkerResult.Fastest(torch),
                        paired.GetValueOrDefault((i, threads)), threads == 2 ? threadPairs.GetValueOrDefault(i) : null));
                }
            }
        }
        finally
        {
            temp.Delete(recursive: true);
        }

        Progress("measuring this machine's limits again...");
        MachineLimits limitsAtEnd = MachineLimits.Measure(workingSets);
        Progress($"  {limitsAtEnd.VectorWidth}: {limitsAtEnd.Describe()}");

        var report = new CompareReport(
            started,
            Clock.Elapsed,
            "dotnet run -c Release --project benchmarks/Recurrent.Benchmarks -- " + string.Join(' ', [Verb, .. args]),
            MachineDescription.Current(root),
            limitsAtStart,
            limitsAtEnd,
            VersionOf(runs, r => r.Ours) ?? InformationalVersion(typeof(RecurrentLayer).Assembly),
            VersionOf(runs, r => r.Ort) ?? InformationalVersion(typeof(InferenceSession).Assembly),
            pytorch,
            pytorchReason,
            options.Timing,
            options.PairedTiming,
            options.Rounds,
            Tolerance,
            options.Threads,
            runs);
        string markdown = MarkdownTable.Write(report);
        // A run with shapes beyond the suite writes a file of its own: compare.md stays the suite's (the README's source).
        string output = Path.Combine(root, "benchmarks", "results", options.Shapes.All(shape => shape.InSuite) ? "compare.md" : "compare-beyond.md");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, markdown);
        Console.Out.Write(markdown);
        if (options.UpdateReadme)
        {
            string readme = Path.Combine(root, "README.md");
            File.WriteAllText(readme, ReadmeTable.Replace(File.ReadAllText(readme), report));
            Progress($"updated the table in {readme}");
        }

        var failures = report.Failures().ToList();
        foreach (var (run, library, result) in failures)
        {
            Console.Error.WriteLine($"FAILED: {run.Shape.Id} at {MarkdownTable.Threads(run.Threads)}, {library}: {result.Status}: {result.Reason}");
        }

        Progress(Invariant($"wrote {output} ({Clock.Elapsed.TotalMinutes:0.0} min)"));
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>Runs one <see cref="CompareWorker"/> process; any failure to produce a result becomes an error result.</summary>
    private static WorkerResult RunWorker(string library, CompareShape shape, string casePath, int threads, TimingPolicy timing)
    {
        var (fileName, leading) = ChildProcess.Self();
        var (exitCode, stdout, stderr) = ChildProcess.Run(
            fileName, [.. leading, .. CompareWorker.Arguments(library, shape, casePath, threads, Tolerance, timing)]);
        return WorkerResult.FromOutput(stdout)
            ?? new WorkerResult(WorkerResult.Error, Reason: $"exit code {exitCode}: {ChildProcess.LastLine(stderr)}");
    }

    /// <summary>One progress line per library result; a failed check is shouted, since the table only says "failed".</summary>
    private static WorkerResult ReportPaired(string where, WorkerResult result)
    {
        if (!result.IsOk)
        {
            return Report(where, "ours+ORT", result);
        }

        Progress(Invariant($"{where} ours {result.MedianMs:0.####} ms, ORT {result.PeerMedianMs:0.####} ms, ORT / ours {result.PairRatio:0.00} (median of {result.Runs} pairs)"));
        return result;
    }

    /// <summary>The thread pair's progress line: both times, the speed-up and the difference between the thread counts.</summary>
    private static WorkerResult ReportThreadPair(string where, WorkerResult result)
    {
        if (!result.IsOk)
        {
            return Report(where, "ours 2t+1t", result);
        }

        Progress(Invariant($"{where} ours 2t {result.MedianMs:0.####} ms, 1t {result.PeerMedianMs:0.####} ms, 1t / 2t {result.PairRatio:0.00} (median of {result.Runs} pairs), max |Δ| {result.MaxAbsDiff:0.0E0}"));
        return result;
    }

    private static WorkerResult Report(string where, string library, WorkerResult result)
    {
        string detail = result.Status switch
        {
            WorkerResult.Ok => Invariant($"{result.MedianMs:0.####} ms ({result.Runs} runs), max |Δ| {result.MaxAbsDiff:0.0E0}, peak {result.PeakMiB:0} MiB"),
            WorkerResult.Unavailable => $"n/a: {result.Reason}",
            WorkerResult.CheckFailed => $"!!! CHECK FAILED: {result.Reason} (not timed)",
            _ => $"!!! ERROR: {result.Reason}",
        };
        Progress($"{where} {library,-8} {detail}");
        return result;
    }

    private static string? VersionOf(List<ShapeRun> runs, Func<ShapeRun, WorkerResult> pick) =>
        runs.Select(pick).Select(r => r.Version).FirstOrDefault(v => v is not null);

    private static string InformationalVersion(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "?";

    /// <summary>The directory holding Recurrent.sln, found upwards from the program's own directory.</summary>
    private static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Recurrent.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Recurrent.sln above {AppContext.BaseDirectory}: run the command from the repository's build.");
    }

    private static void Progress(string message) =>
        Console.Error.WriteLine(Invariant($"[{Clock.Elapsed.TotalSeconds,6:0.0} s] {message}"));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
