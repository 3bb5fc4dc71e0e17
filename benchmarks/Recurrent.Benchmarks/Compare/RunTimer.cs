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

        return (Median(times), times.Count);
    }

    /// <summary>
    /// Times two libraries in one process, a run of each in turn (which goes first alternates), so that both see the
    /// same moments of a shared machine; the policy's run counts and seconds apply to the pairs. After each timed run the
    /// thread waits <paramref name="settle"/>, untimed, so that threads the run left spinning have gone to sleep before
    /// the other library starts.
    /// </summary>
    /// <returns>Each library's median time, the median over pairs of peer time / our time, and the pairs timed.</returns>
    public static (double OursMs, double PeerMs, double PairRatio, int Pairs) MeasurePairs(Action ours, Action peer, TimingPolicy policy, TimeSpan settle = default)
    {
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < policy.WarmupRuns || Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < policy.WarmupSeconds; i++)
        {
            ours();
            peer();
        }

        var oursTimes = new List<double>();
        var peerTimes = new List<double>();
        var ratios = new List<double>();
        double totalSeconds = 0;
        while ((ratios.Count < policy.MinRuns || totalSeconds < policy.MinSeconds) && ratios.Count < policy.MaxRuns)
        {
            bool oursFirst = ratios.Count % 2 == 0;
            double first = Time(oursFirst ? ours : peer);
            Settle(settle);
            double second = Time(oursFirst ? peer : ours);
            Settle(settle);
            double oursMs = oursFirst ? first : second, peerMs = oursFirst ? second : first;
            oursTimes.Add(oursMs);
            peerTimes.Add(peerMs);
            ratios.Add(peerMs / oursMs);
            totalSeconds += (oursMs + peerMs) / 1e3;
        }

        return (Median(oursTimes), Median(peerTimes), Median(ratios), ratios.Count);
    }

    /// <summary>Busy-waits <paramref name="span"/> (a sleep would hand the core to the threads being waited out).</summary>
    private static void Settle(TimeSpan span)
    {
        for (long start = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(start) < span;)
        {
            Thread.SpinWait(10);
        }
    }

    private static double Time(Action run)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        int middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }
}
