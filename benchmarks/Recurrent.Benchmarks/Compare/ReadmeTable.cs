using System.Globalization;
using System.Text;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// The condensed table README.md shows (<c>compare --readme</c>): per shape, our 1- and 2-thread times, % of the
/// 1-core peak, the peers' ratios at both thread counts (also ONNX Runtime's from one process, a run of each in
/// turn), the 2-thread speed-up (from one process, a run of each thread count in turn, when the run had both)
/// and the batch-1 memory bounds. It replaces
/// whatever lies between <see cref="Start"/> and <see cref="End"/> in the README.
/// </summary>
internal static class ReadmeTable
{
    public const string Start = "<!-- compare-table:start -->";
    public const string End = "<!-- compare-table:end -->";

    /// <summary>Replaces the block between the markers of <paramref name="readme"/>'s text with the report's table.</summary>
    /// <exception cref="InvalidOperationException">The README has no start marker followed by an end marker.</exception>
    public static string Replace(string readme, CompareReport report)
    {
        int start = readme.IndexOf(Start, StringComparison.Ordinal);
        int end = start < 0 ? -1 : readme.IndexOf(End, start, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new InvalidOperationException($"README.md has no '{Start}' ... '{End}' block to replace.");
        }

        return string.Concat(readme.AsSpan(0, start), Write(report), readme.AsSpan(end + End.Length));
    }

    /// <summary>The block, markers included.</summary>
    public static string Write(CompareReport report)
    {
        MachineLimits limits = report.Limits;
        var md = new StringBuilder();
        md.Append(Start).Append('\n');
        md.Append(Invariant($"Made by `{report.Command}`\n"));
        md.Append(Invariant($"on {report.Started:yyyy-MM-dd HH:mm} UTC ({report.Machine.Cpu}, {report.Machine.LogicalCores} logical cores"));
        md.Append(report.Machine.Commit is null ? "" : $"; commit {report.Machine.Commit}").Append(").\n");
        md.Append(Invariant($"Measured FMA peak {limits.PeakGflops1:0} GFLOP/s (1 core) and {limits.PeakGflops2:0} (2 cores), L2 read bandwidth {limits.L2GBps1:0} GB/s\n"));
        md.Append("(1 core); the memory bounds use the read bandwidth measured on each shape's own working set (in parentheses;\n");
        md.Append("on 2 threads half of it per core), listed in benchmarks/results/compare.md.\n");
        md.Append("Ratios above 1 mean ours is faster; \"% of peak\" is our 1-thread GFLOP/s over the 1-core peak;\n");
        md.Append("\"one process\": ours and ONNX Runtime in one process, a run of each in turn, the median of the pairs' ratios;\n");
        md.Append("the 2t / 1t speed-up likewise, ours at 2 threads and at 1 thread in one process.\n");
        if (report.PyTorch is null)
        {
            md.Append(Invariant($"PyTorch was not available to this run ({report.PyTorchUnavailableReason}): its columns are n/a.\n"));
        }

        md.Append('\n');
        md.Append("| id | shape | ours 1t ms | % of peak | ORT / ours | ORT / ours, one process | PyTorch / ours | ours 2t ms | 2t / 1t speed-up, one process | ORT / ours | ORT / ours, one process | PyTorch / ours | ours / memory bound, 1t, 2t |\n");
        md.Append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        foreach (CompareShape shape in report.Runs.Select(r => r.Shape).Distinct())
        {
            ShapeRun? one = report.Runs.FirstOrDefault(r => r.Shape == shape && r.Threads == 1);
            ShapeRun? two = report.Runs.FirstOrDefault(r => r.Shape == shape && r.Threads == 2);
            double? ours1 = Ms(one?.Ours), ours2 = Ms(two?.Ours);
            string peak = ours1 is { } t ? Invariant($"{100 * shape.Flops / (t * 1e6) / limits.PeakGflops1:0}") : NotAvailable;
            int steps = shape.Shape.Steps;
            string bound = shape.MemoryBound is { } memory
                ? $"{Ratio(ours1, limits.BoundMilliseconds(memory, steps, 1))}, {Ratio(ours2, limits.BoundMilliseconds(memory, steps, 2))} ({memory.WorkingSet})"
                : "–";
            string pairedRatio = PairRatio(one?.Paired), pairedRatio2 = PairRatio(two?.Paired);
            string speedUp = PairRatio(two?.ThreadPair);
            md.Append(Invariant($"| {shape.Id} | {shape.Description} | {Time(ours1)} | {peak} | {Ratio(Ms(one?.Ort), ours1)} | {pairedRatio} | {Ratio(Ms(one?.PyTorch), ours1)} | "));
            md.Append(Invariant($"{Time(ours2)} | {speedUp} | {Ratio(Ms(two?.Ort), ours2)} | {pairedRatio2} | {Ratio(Ms(two?.PyTorch), ours2)} | {bound} |\n"));
        }

        md.Append(End);
        return md.ToString();
    }

    private const string NotAvailable = "n/a";

    private static string PairRatio(WorkerResult? paired) => paired is { IsOk: true, PairRatio: { } ratio } ? Invariant($"{ratio:0.00}") : NotAvailable;

    private static double? Ms(WorkerResult? result) => result is { IsOk: true } ? result.MedianMs : null;

    private static string Ratio(double? numerator, double? denominator) => MarkdownTable.Ratio(numerator, denominator);

    private static string Time(double? ms) => ms is { } value ? MarkdownTable.Number(value) : NotAvailable;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
