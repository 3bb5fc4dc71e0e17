using System.Diagnostics;

namespace Recurrent.Benchmarks.Compare;

/// <summary>Times one library's run under a <see cref="TimingPolicy"/>; benchmarks/pytorch_peer.py's <c>measure</c> is the same loop in Python.</summary>
internal static class RunTimer
{
    /// <returns>The median of the timed runs in milliseconds, and how many runs were timed.</returns>
    public static (double MedianMs, int Runs) Measure(Action run, TimingPolicy policy)
    {
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < policy.WarmupRuns || Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < policy.WarmupSeconds; i++)
        {
            run();
        }

        var times = new List<double>();
        double totalSeconds = 0;
        while ((times.Count < policy.MinRuns || totalSeconds < policy.MinSeconds) && times.Count < policy.MaxRuns)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            times.Add(elapsed.TotalMilliseconds);
            totalSeconds += elapsed.TotalSeconds;
        }

        times.Sort();
        int middle = times.Count / 2;
        double median = times.Count % 2 == 1 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
        return (median, times.Count);
    }
}
