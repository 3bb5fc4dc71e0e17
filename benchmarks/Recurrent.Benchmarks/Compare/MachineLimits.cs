using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// This machine's limits, measured by the compare command with nothing else running: the fp32 FMA peak
/// (12 independent chains of vector FMAs: more than latency × throughput, so the FMA ports never wait), the read
/// bandwidth of a working set that lives in L2 (512 KiB per core), and the read bandwidth of each working set a
/// memory-bound shape streams (<see cref="MemoryBound"/>: the weights S1, ST, S3, S4, S5 read every step; on two cores
/// each core reads its own half). Each figure is the best of several short trials, on one core and on two cores at once.
/// </summary>
/// <remarks>
/// The two-core figures vary from run to run on the 2-vCPU VM this suite targets (FMA peak 1.05× to 1.9× one core's
/// in five full runs): probably the host sometimes places the two vCPUs on hyperthreads of one physical core. The
/// compare command therefore measures at its start and at its end and uses the better of the two (<see cref="Best"/>):
/// a peak and a bandwidth are what the machine can do, so the better measurement is the truer one.
/// </remarks>
internal sealed record MachineLimits(
    string VectorWidth, double PeakGflops1, double PeakGflops2, double L2GBps1, double L2GBps2,
    IReadOnlyDictionary<long, double> SetGBps1, IReadOnlyDictionary<long, double> SetGBps2)
{
    private const int Chains = 12;
    private const int L2WorkingSetBytes = 512 * 1024;
    private const int Trials = 11;

    /// <summary>Longest wait for two threads to run on two cores before the two-core figures are taken anyway.</summary>
    private const double WakeSecondCoreSeconds = 6;

    public double PeakGflops(int threads) => threads == 1 ? PeakGflops1 : PeakGflops2;

    public double L2GBps(int threads) => threads == 1 ? L2GBps1 : L2GBps2;

    /// <summary>The read bandwidth that bounds <paramref name="bound"/>'s shape on <paramref name="threads"/> cores;
    /// null when it was not measured.</summary>
    public double? ReadGBps(MemoryBound bound, int threads) =>
        (threads == 1 ? SetGBps1 : SetGBps2).TryGetValue(bound.BytesPerStep, out double gbps) ? gbps : null;

    /// <summary>Our time over <paramref name="bound"/> at <paramref name="threads"/> threads; null when either is missing.</summary>
    public double? BoundMilliseconds(MemoryBound? bound, int steps, int threads) =>
        bound is not null && ReadGBps(bound, threads) is { } gbps ? bound.Milliseconds(steps, gbps) : null;

    /// <summary>Each figure the better of <paramref name="a"/>'s and <paramref name="b"/>'s.</summary>
    public static MachineLimits Best(MachineLimits a, MachineLimits b) => new(
        a.VectorWidth,
        Math.Max(a.PeakGflops1, b.PeakGflops1),
        Math.Max(a.PeakGflops2, b.PeakGflops2),
        Math.Max(a.L2GBps1, b.L2GBps1),
        Math.Max(a.L2GBps2, b.L2GBps2),
        BestOf(a.SetGBps1, b.SetGBps1),
        BestOf(a.SetGBps2, b.SetGBps2));

    private static Dictionary<long, double> BestOf(IReadOnlyDictionary<long, double> a, IReadOnlyDictionary<long, double> b) =>
        a.Keys.Union(b.Keys).ToDictionary(
            bytes => bytes,
            bytes => Math.Max(a.TryGetValue(bytes, out double x) ? x : 0, b.TryGetValue(bytes, out double y) ? y : 0));

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"FMA peak {PeakGflops1:0} / {PeakGflops2:0} GFLOP/s, L2 read {L2GBps1:0} / {L2GBps2:0} GB/s{DescribeSets()} (1 / 2 cores)");

    /// <summary>The per-working-set figures, as ", read (4 MiB) 29 / 54 GB/s, ...".</summary>
    public string DescribeSets() => string.Concat(SetGBps1.Keys.Order().Select(bytes => string.Create(CultureInfo.InvariantCulture,
        $", read ({MemoryBound.Size(bytes)}) {SetGBps1[bytes]:0} / {(SetGBps2.TryGetValue(bytes, out double two) ? two : 0):0} GB/s")));

    /// <summary>Measures the limits; the read bandwidth for each of <paramref name="workingSets"/> (bytes).</summary>
    public static MachineLimits Measure(IEnumerable<long> workingSets)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        string width = wide ? "Vector512" : "Vector256";
        Func<long, float> fma = wide ? FmaChains512 : FmaChains256;
        int lanes = wide ? Vector512<float>.Count : Vector256<float>.Count;

        // Calibrate to ~40 ms per trial on one core.
        long iterations = 1_000_000;
        fma(iterations);
        double seconds = Time(() => fma(iterations));
        iterations = Math.Max(1, (long)(iterations * 0.04 / seconds));
        double flopsPerTrial = iterations * Chains * lanes * 2.0;
        double peak1 = flopsPerTrial / BestTime(1, _ => fma(iterations)) / 1e9;

        // A virtual machine may not give an idle second vCPU a core at once: on the 2-vCPU CI machines two threads ran
        // no faster than one for the first seconds of a run. Keep both busy (up to WakeSecondCoreSeconds) until two
        // threads reach 1.5× one, so the figures (and the first two-thread cases) see both cores.
        double peak2 = 2 * flopsPerTrial / BestTime(2, _ => fma(iterations)) / 1e9;
        for (long waking = Stopwatch.GetTimestamp(); peak2 < 1.5 * peak1 && Stopwatch.GetElapsedTime(waking).TotalSeconds < WakeSecondCoreSeconds;)
        {
            peak2 = 2 * flopsPerTrial / BestTime(2, _ => fma(iterations)) / 1e9;
        }

        // One buffer per core, each read whole many times over.
        (double l2One, double l2Two) = StreamGBps(L2WorkingSetBytes, L2WorkingSetBytes);

        var setOne = new Dictionary<long, double>();
        var setTwo = new Dictionary<long, double>();
        foreach (long bytes in workingSets.Distinct())
        {
            (setOne[bytes], setTwo[bytes]) = StreamGBps(bytes, bytes / 2);
        }

        return new MachineLimits(width, peak1, peak2, l2One, l2Two, setOne, setTwo);
    }

    /// <summary>
    /// Read bandwidth of a working set read over and over: <paramref name="oneCoreBytes"/> on one core, and
    /// <paramref name="perCoreBytesOnTwo"/> on each of two cores at once (each its own buffer).
    /// </summary>
    private static (double One, double Two) StreamGBps(long oneCoreBytes, long perCoreBytesOnTwo)
    {
        var whole = new StreamBuffer(oneCoreBytes);
        StreamBuffer[] perCore = [new StreamBuffer(perCoreBytesOnTwo), new StreamBuffer(perCoreBytesOnTwo)];

        // Calibrate to ~40 ms per trial on one core, in whole pairs of passes (one each way).
        int passes = 2;
        whole.Read(passes);
        double seconds = Time(() => whole.Read(passes));
        passes = Math.Max(2, (int)(passes * 0.04 / seconds) & ~1);
        double one = passes * (double)whole.Bytes / BestTime(1, _ => whole.Read(passes)) / 1e9;
        double two = passes * 2.0 * perCore[0].Bytes / BestTime(2, core => perCore[core].Read(passes)) / 1e9;
        return (one, two);
    }

    /// <summary>
    /// Best (shortest) wall time over <see cref="Trials"/> trials of <paramref name="work"/> on <paramref name="threads"/>
    /// threads started together: from the first worker's start to the last worker's end, as the workers themselves read
    /// the clock. (Read by the main thread around the barrier, a third thread on two vCPUs, the clock could start after
    /// the workers had finished: one run measured 2475 GB/s of L2 reads on two cores.)
    /// </summary>
    private static double BestTime(int threads, Func<int, float> work)
    {
        double best = double.MaxValue;
        var begins = new long[threads];
        var ends = new long[threads];
        for (int trial = 0; trial < Trials; trial++)
        {
            using var start = new Barrier(threads);
            var workers = new Thread[threads];
            for (int core = 0; core < threads; core++)
            {
                int index = core;
                workers[core] = new Thread(() =>
                {
                    start.SignalAndWait();
                    begins[index] = Stopwatch.GetTimestamp();
                    GC.KeepAlive(work(index));
                    ends[index] = Stopwatch.GetTimestamp();
                });
                workers[core].Start();
            }

            foreach (Thread worker in workers)
            {
                worker.Join();
            }

            best = Math.Min(best, (double)(ends.Max() - begins.Min()) / Stopwatch.Frequency);
        }

        return best;
    }

    private static double Time(Func<float> work)
    {
        long begin = Stopwatch.GetTimestamp();
        GC.KeepAlive(work());
        return Stopwatch.GetElapsedTime(begin).TotalSeconds;
    }

    /// <summary>12 independent FMA chains, c = c·a + b, converging to b / (1 − a): no overflow, no denormals.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains512(long iterations)
    {
        Vector512<float> a = Vector512.Create(0.999f), b = Vector512.Create(1e-4f);
        Vector512<float> c0 = Vector512.Create(0.0f), c1 = Vector512.Create(0.1f), c2 = Vector512.Create(0.2f), c3 = Vector512.Create(0.3f);
        Vector512<float> c4 = Vector512.Create(0.4f), c5 = Vector512.Create(0.5f), c6 = Vector512.Create(0.6f), c7 = Vector512.Create(0.7f);
        Vector512<float> c8 = Vector512.Create(0.8f), c9 = Vector512.Create(0.9f), c10 = Vector512.Create(1.0f), c11 = Vector512.Create(1.1f);
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b);
            c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b);
            c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b);
            c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b);
            c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b);
            c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b);
            c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }

        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    /// <summary>The same 12 chains on Vector256, for a machine without AVX-512.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains256(long iterations)
    {
        Vector256<float> a = Vector256.Create(0.999f), b = Vector256.Create(1e-4f);
        Vector256<float> c0 = Vector256.Create(0.0f), c1 = Vector256.Create(0.1f), c2 = Vector256.Create(0.2f), c3 = Vector256.Create(0.3f);
        Vector256<float> c4 = Vector256.Create(0.4f), c5 = Vector256.Create(0.5f), c6 = Vector256.Create(0.6f), c7 = Vector256.Create(0.7f);
        Vector256<float> c8 = Vector256.Create(0.8f), c9 = Vector256.Create(0.9f), c10 = Vector256.Create(1.0f), c11 = Vector256.Create(1.1f);
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b);
            c1 = Vector256.FusedMultiplyAdd(c1, a, b);
            c2 = Vector256.FusedMultiplyAdd(c2, a, b);
            c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b);
            c5 = Vector256.FusedMultiplyAdd(c5, a, b);
            c6 = Vector256.FusedMultiplyAdd(c6, a, b);
            c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b);
            c9 = Vector256.FusedMultiplyAdd(c9, a, b);
            c10 = Vector256.FusedMultiplyAdd(c10, a, b);
            c11 = Vector256.FusedMultiplyAdd(c11, a, b);
        }

        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    /// <summary>A 64-byte aligned, pinned buffer of a whole number of 512-byte blocks, read with 64-byte loads.</summary>
    private sealed class StreamBuffer
    {
        private const int BlockFloats = 128;
        private readonly float[] _storage;
        private readonly int _offset;
        private readonly nuint _length;

        public StreamBuffer(long bytes)
        {
            _length = (nuint)Math.Max(BlockFloats, bytes / sizeof(float) / BlockFloats * BlockFloats);
            _storage = GC.AllocateArray<float>((int)_length + 16, pinned: true);
            _storage.AsSpan().Fill(1e-3f);
            long address = Marshal.UnsafeAddrOfPinnedArrayElement(_storage, 0);
            _offset = (int)((64 - (address % 64)) % 64) / sizeof(float);
        }

        public long Bytes => (long)_length * sizeof(float);

        /// <summary>
        /// Reads the whole buffer <paramref name="passes"/> times, forwards then backwards in turn (as a time loop streams
        /// W_hh, so each pass starts with the lines the last one read last), with 64-byte loads into 8 independent sums
        /// (Vector256 halves of each line on a machine without AVX-512). No load splits a line.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public float Read(int passes)
        {
            ref float start = ref _storage[_offset];
            nuint blocks = _length / BlockFloats;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                for (int pass = 0; pass < passes; pass++)
                {
                    bool forwards = (pass & 1) == 0;
                    for (nuint b = 0; b < blocks; b++)
                    {
                        nuint i = (forwards ? b : blocks - 1 - b) * BlockFloats;
                        s0 += Vector512.LoadUnsafe(ref start, i);
                        s1 += Vector512.LoadUnsafe(ref start, i + 16);
                        s2 += Vector512.LoadUnsafe(ref start, i + 32);
                        s3 += Vector512.LoadUnsafe(ref start, i + 48);
                        s4 += Vector512.LoadUnsafe(ref start, i + 64);
                        s5 += Vector512.LoadUnsafe(ref start, i + 80);
                        s6 += Vector512.LoadUnsafe(ref start, i + 96);
                        s7 += Vector512.LoadUnsafe(ref start, i + 112);
                    }
                }

                return Vector512.Sum(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
            }

            Vector256<float> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
            for (int pass = 0; pass < passes; pass++)
            {
                bool forwards = (pass & 1) == 0;
                for (nuint b = 0; b < blocks; b++)
                {
                    nuint i = (forwards ? b : blocks - 1 - b) * BlockFloats;
                    t0 += Vector256.LoadUnsafe(ref start, i) + Vector256.LoadUnsafe(ref start, i + 8);
                    t1 += Vector256.LoadUnsafe(ref start, i + 16) + Vector256.LoadUnsafe(ref start, i + 24);
                    t2 += Vector256.LoadUnsafe(ref start, i + 32) + Vector256.LoadUnsafe(ref start, i + 40);
                    t3 += Vector256.LoadUnsafe(ref start, i + 48) + Vector256.LoadUnsafe(ref start, i + 56);
                    t4 += Vector256.LoadUnsafe(ref start, i + 64) + Vector256.LoadUnsafe(ref start, i + 72);
                    t5 += Vector256.LoadUnsafe(ref start, i + 80) + Vector256.LoadUnsafe(ref start, i + 88);
                    t6 += Vector256.LoadUnsafe(ref start, i + 96) + Vector256.LoadUnsafe(ref start, i + 104);
                    t7 += Vector256.LoadUnsafe(ref start, i + 112) + Vector256.LoadUnsafe(ref start, i + 120);
                }
            }

            return Vector256.Sum(t0 + t1 + t2 + t3 + t4 + t5 + t6 + t7);
        }
    }
}
