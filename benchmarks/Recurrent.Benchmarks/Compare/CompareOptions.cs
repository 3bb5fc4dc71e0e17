using System.Globalization;

namespace Recurrent.Benchmarks.Compare;

/// <summary>The compare command's options: <c>--quick</c>, <c>--shapes T1,S1,...</c>, <c>--threads 1</c> or <c>1,2</c>,
/// <c>--rounds R</c>, <c>--readme</c>.</summary>
internal sealed record CompareOptions(bool Quick, CompareShape[] Shapes, int[] Threads, int Rounds, bool UpdateReadme = false)
{
    /// <summary>Rounds by default: two, so that a disturbance of the shared machine during one library's run (seen as
    /// 1.5–3× swings on the 2-vCPU CI machines) is unlikely to decide a ratio.</summary>
    public const int DefaultRounds = 2;

    public const string Usage =
        "usage: compare [--quick] [--shapes T1,S1,...] [--threads 1|1,2] [--rounds R] [--readme]\n" +
        "  --quick    fewer repetitions and one round (a smoke run)\n" +
        "  --shapes   shape ids, comma-separated (default: the suite); 'beyond' for the thirteen shapes outside it (X1..XD)\n" +
        "  --threads  thread counts, comma-separated (default: 1,2)\n" +
        "  --rounds   passes over the suite; each library's fastest round of a case is reported (default: 2, 1 to 9)\n" +
        "  --readme   also put the condensed table into README.md (between its compare-table markers)";

    public TimingPolicy Timing => Quick ? TimingPolicy.Quick : TimingPolicy.Full;

    /// <summary>The timing of the one-process pairs of ours and ONNX Runtime.</summary>
    public TimingPolicy PairedTiming => Quick ? TimingPolicy.Quick : TimingPolicy.Paired;

    /// <exception cref="ArgumentException">An unknown option, a missing value, an unknown shape or a bad thread count.</exception>
    public static CompareOptions Parse(IReadOnlyList<string> args)
    {
        bool quick = false;
        CompareShape[] shapes = CompareShape.All;
        int[] threads = [1, 2];
        int? rounds = null;
        bool readme = false;
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--shapes":
                    shapes = CompareShape.Select(SplitList(args, ++i, "--shapes"));
                    break;
                case "--threads":
                    threads = [.. SplitList(args, ++i, "--threads").Select(ParseThreads).Distinct().Order()];
                    break;
                case "--rounds":
                    rounds = ParseRounds(SplitList(args, ++i, "--rounds"));
                    break;
                case "--readme":
                    readme = true;
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'.\n{Usage}");
            }
        }

        if (readme && shapes.Any(shape => !shape.InSuite))
        {
            throw new ArgumentException("--readme puts the suite's table into README.md: run it without the shapes beyond the suite.");
        }

        return new CompareOptions(quick, shapes, threads, rounds ?? (quick ? 1 : DefaultRounds), readme);
    }

    private static int ParseRounds(string[] values) =>
        values.Length == 1 && int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rounds) && rounds is >= 1 and <= 9
            ? rounds
            : throw new ArgumentException($"--rounds takes one count from 1 to 9, got '{string.Join(',', values)}'.");

    private static string[] SplitList(IReadOnlyList<string> args, int index, string option)
    {
        if (index >= args.Count)
        {
            throw new ArgumentException($"{option} needs a value.\n{Usage}");
        }

        string[] values = args[index].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return values.Length > 0 ? values : throw new ArgumentException($"{option} needs at least one value, got '{args[index]}'.\n{Usage}");
    }

    private static int ParseThreads(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int threads) && threads is 1 or 2
            ? threads
            : throw new ArgumentException($"--threads takes 1 and/or 2 (this suite targets a 2-core machine), got '{text}'.");
}

/// <summary>
/// How every library is timed, identically: warm up for at least <see cref="WarmupRuns"/> runs and
/// <see cref="WarmupSeconds"/>, then repeat until at least <see cref="MinRuns"/> runs and <see cref="MinSeconds"/> of
/// timed runs (or <see cref="MaxRuns"/> runs); report the median run.
/// </summary>
internal sealed record TimingPolicy(int WarmupRuns, double WarmupSeconds, int MinRuns, double MinSeconds, int MaxRuns)
{
    /// <summary>
    /// The warm-up is long because our library runs on the JIT: its per-call code reaches its final tier only after
    /// about 1 to 1.5 s of calls (tier 0, then instrumented, then optimised with PGO); measured on S1, where the first
    /// calls are 3 to 6 times slower than the steady state. The same policy applies to every library.
    /// </summary>
    public static readonly TimingPolicy Full = new(WarmupRuns: 1, WarmupSeconds: 1.5, MinRuns: 5, MinSeconds: 0.5, MaxRuns: 20_000);

    /// <summary>
    /// Ours and ONNX Runtime in one process, a run of each in turn: the warm-up is twice <see cref="Full"/>'s, as the
    /// two share it, and at least 9 pairs and 2 s are timed, since a median of ratios needs more samples than a
    /// median of times (L1's 80 ms runs gave only 5 pairs under <see cref="Full"/>).
    /// </summary>
    public static readonly TimingPolicy Paired = new(WarmupRuns: 1, WarmupSeconds: 3, MinRuns: 9, MinSeconds: 2, MaxRuns: 20_000);

    /// <summary>A smoke run: the numbers are not steady-state ones (see <see cref="Full"/>).</summary>
    public static readonly TimingPolicy Quick = new(WarmupRuns: 1, WarmupSeconds: 0.1, MinRuns: 3, MinSeconds: 0.1, MaxRuns: 20_000);

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"warm-up ≥ {WarmupRuns} run and ≥ {WarmupSeconds:0.##} s, then timed runs until ≥ {MinRuns} runs and ≥ {MinSeconds:0.##} s (at most {MaxRuns}); the median run is reported");

    /// <summary>The command-line form passed to worker processes and to the PyTorch script; read back by <see cref="FromArgs"/>.</summary>
    public string[] ToArgs() =>
    [
        "--warmup-runs", WarmupRuns.ToString(CultureInfo.InvariantCulture),
        "--warmup-seconds", WarmupSeconds.ToString(CultureInfo.InvariantCulture),
        "--min-runs", MinRuns.ToString(CultureInfo.InvariantCulture),
        "--min-seconds", MinSeconds.ToString(CultureInfo.InvariantCulture),
        "--max-runs", MaxRuns.ToString(CultureInfo.InvariantCulture),
    ];

    public static TimingPolicy FromArgs(IReadOnlyDictionary<string, string> named) => new(
        int.Parse(named["--warmup-runs"], CultureInfo.InvariantCulture),
        double.Parse(named["--warmup-seconds"], CultureInfo.InvariantCulture),
        int.Parse(named["--min-runs"], CultureInfo.InvariantCulture),
        double.Parse(named["--min-seconds"], CultureInfo.InvariantCulture),
        int.Parse(named["--max-runs"], CultureInfo.InvariantCulture));
}
