using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.Loader;

namespace Recurrent.Execution;

/// <summary>
/// A phase of work cut into parts that may run at the same time. Invariant: part p of P computes the same values
/// whichever thread runs it and whether or not the other parts run beside it, so results never depend on how many
/// threads were available.
/// </summary>
internal interface IPartitionedWork
{
    void RunPart(int part, int parts);
}

/// <summary>
/// Long-lived background threads that run parts of a phase beside the calling thread: never a thread or a task per
/// step. A forward pass rents helpers once (<see cref="Rent"/>), hands each phase to them with <see cref="Run"/> and
/// gives them back at the end (<see cref="Return"/>). At most max(1, ProcessorCount − 1) helpers exist in the process; when
/// none is idle (other calls hold them) the caller runs every part itself, with identical results.
/// <para>
/// Between phases a helper spins for a while, then sleeps. Waking a sleeping helper delays its part by tens of
/// microseconds on a virtual machine, so callers ask <see cref="Ready"/> first and leave small phases to the calling
/// thread while the helper sleeps.
/// </para>
/// <para>
/// When the library's load context unloads (a collectible plugin context), the pool stops: idle helpers end at once,
/// rented ones when given back, and calls from then on run on the calling thread. A helper loop that never ended would
/// hold the context, and with it the library, in memory for good.
/// </para>
/// </summary>
internal sealed class HelperThreads
{
    /// <summary>Spin-loop iterations (one pause each, ~50 µs in all) before blocking on a start or done signal: a phase
    /// of a time loop is short, a wake-up from blocking is not, and back-to-back calls find the helper still spinning.
    /// Settable for tests (<see cref="DefaultSpinIterations"/> otherwise), which must find a helper spinning whatever the
    /// scheduler's delays: each wait reads it once, as it starts.</summary>
    internal static int SpinIterations { get; set; } = DefaultSpinIterations;

    /// <summary>The default of <see cref="SpinIterations"/>.</summary>
    internal const int DefaultSpinIterations = 1000;

    private static readonly object s_poolLock = new();
    private static readonly Stack<HelperThreads> s_idle = new();
    // At least one, so that the parallel paths run (and are tested) even where only one processor is visible.
    private static readonly int s_maxHelpers = Math.Max(1, Environment.ProcessorCount - 1);
    private static int s_created;
    private static bool s_stopped; // under s_poolLock: the load context unloads, so no helper is handed out or kept

    /// <summary>Set (with a bare wake-up) only on a helper that is idle in the pool: its loop ends at the next wake-up
    /// that brings no work. A rented helper is never stopped, so a part started on it always runs.</summary>
    private volatile bool _stopped;

    private readonly Signal _start = new();
    private readonly Signal _done = new();

    // The part handed over by Start, taken by the helper exactly once (an interlocked exchange): a start signal may also
    // be a bare wake-up (Wake), and one loop of the helper may consume the signals of a wake-up and a start together.
    private IPartitionedWork? _work;
    private int _part;
    private int _parts;
    private ExceptionDispatchInfo? _error;

    private HelperThreads()
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = "Recurrent helper" };
        thread.Start();
    }

    /// <summary>Fills <paramref name="helpers"/> with idle helpers (creating them up to the process limit); returns how
    /// many (none once the load context unloads).</summary>
    public static int Rent(Span<HelperThreads?> helpers)
    {
        int rented = 0;
        lock (s_poolLock)
        {
            while (rented < helpers.Length && !s_stopped)
            {
                if (s_idle.TryPop(out HelperThreads? idle))
                {
                    helpers[rented++] = idle;
                }
                else if (s_created < s_maxHelpers)
                {
                    if (s_created == 0)
                    {
                        HookUnloading(); // once, before the first helper exists
                    }

                    s_created++;
                    helpers[rented++] = new HelperThreads();
                }
                else
                {
                    break;
                }
            }
        }

        return rented;
    }

    /// <summary>The most threads one call can use in this process: the caller and every helper that may exist.</summary>
    public static int MaxThreads => s_maxHelpers + 1;

    /// <summary>Gives back the first <paramref name="count"/> helpers and clears the slots. Not interruptible: a
    /// helper that is not given back is lost to the process (a pending interrupt is raised again afterwards).</summary>
    public static void Return(Span<HelperThreads?> helpers, int count)
    {
        bool interrupted = false;
        while (true)
        {
            try
            {
                lock (s_poolLock)
                {
                    for (int i = 0; i < count; i++)
                    {
                        if (s_stopped)
                        {
                            helpers[i]!.Stop();
                        }
                        else
                        {
                            s_idle.Push(helpers[i]!);
                        }

                        helpers[i] = null;
                    }
                }

                break;
            }
            catch (ThreadInterruptedException)
            {
                interrupted = true;
            }
        }

        ReraiseInterrupt(interrupted);
    }

    /// <summary>
    /// A phase of fewer FLOPs than this (~0.1 ms on one core) is not worth waking a helper that has gone to sleep
    /// (blocked after its spin, <see cref="SpinIterations"/>). On the CI machine a wake-up delayed the helper's part by
    /// about 50 µs, more than a small split saved: GRU 100 → 100, batch 1, 100 steps, whose 6-MFLOP input product was
    /// split, took 0.24–0.29 ms at 2 threads against 0.20 at 1 (2026-11-29, separate processes, Forward into buffers),
    /// and 0.20 with that split left out. Settable for tests, which run small layers and must still reach the split paths.
    /// </summary>
    internal static double MinWakeFlops { get; set; } = DefaultMinWakeFlops;

    /// <summary>The default of <see cref="MinWakeFlops"/>.</summary>
    internal const double DefaultMinWakeFlops = 16e6;

    /// <summary>
    /// A phase that runs near the FMA peak (an input product) needs this many times <see cref="MinWakeFlops"/> to be worth
    /// a wake-up: its FLOPs take a fraction of the time they take in a small-batch time loop, which streams its weights,
    /// so the same wake-up is a larger share of it. Measured on the CI machine (2026-11-29, Forward into buffers, 2
    /// threads against 1): LSTM 128 → 128 and 64 → 64 at batch 1, whose input products (26 and 16 MFLOP) were the only
    /// phases split, took 1.20× and 1.35× as long at 2 threads in a slow stretch of the machine (1.0× in a quiet one);
    /// left to the caller, 1.0×.
    /// </summary>
    internal const double NearPeakWakeFactor = 4;

    /// <summary>Phases run on the caller alone because a helper was asleep and the work too small to wake it for,
    /// process-wide (lets tests see that the policy applied).</summary>
    private static long s_phasesLeftToCaller;

    internal static long PhasesLeftToCaller => Interlocked.Read(ref s_phasesLeftToCaller);

    /// <summary>Whether the helper has given up spinning and sleeps until a start wakes it (tests wait for this).</summary>
    internal bool IsAsleep => _start.WaiterBlocked;

    /// <summary>How many times the helper has woken from sleep so far (tests count on this).</summary>
    internal long WakeUps => _start.BlockedWaitsEnded;

    /// <summary>
    /// Small phases left to the caller this close together (a stream of one-step calls) wake the sleeping helpers, which
    /// then spin through the gaps and take the phases after. Spaced further apart, each wake-up would be wasted (the
    /// helper blocks again before the next phase) and costs the caller: the woken thread tends to be scheduled on the
    /// caller's core first.
    /// </summary>
    internal static long CloseSuccessionTicks { get; set; } = DefaultCloseSuccessionTicks;

    /// <summary>The default of <see cref="CloseSuccessionTicks"/>: 100 µs. Settable for tests, whose thread may be
    /// descheduled for longer than that between two calls on a loaded machine.</summary>
    internal static long DefaultCloseSuccessionTicks => Stopwatch.Frequency / 10_000;

    /// <summary>When a phase was last left to the caller because this helper (the call's first) was asleep.</summary>
    private long _leftAsleepAt = long.MinValue / 2;

    /// <summary>
    /// A time loop split by units counts as slowed (<see cref="JudgeCores"/>) when its calling thread waited at the step
    /// barriers more than this share of its own working time. Parts of equal work wait little for each other with a core
    /// each; a part whose core another process shares runs at about half speed, and every step waits for it. Measured on
    /// the CI machine (2026-11-29, one process, 1 and 2 threads in turn) with a busy-loop process pinned to one of its two
    /// cores: S1, S2, S3 and S5 ran at 0.67×, 0.78×, 0.92× and 0.89× their one-thread speed on 2 threads without this,
    /// 0.95–1.01×, 0.99×, 1.00× and 1.00× with it at 1.0 (and the renewing probe of <see cref="JudgeCores"/>); with no
    /// other load S1 and S2 ran 1.59–1.69× and 1.75–1.80× faster on 2 threads with it, 1.53–1.56× and 1.57–1.80× without.
    /// At 2.0 it never fired under the busy loop, and at 0.6 it fired without any other load often enough to cost S2 a
    /// third of its two-thread speed. Settable for tests (<see cref="double.PositiveInfinity"/> turns the check off: no
    /// loop then gives a verdict, so tests that walk <see cref="JudgeCores"/> see none from layers running beside them).
    /// </summary>
    internal static double BusyWaitShare { get; set; } = DefaultBusyWaitShare;

    /// <summary>The default of <see cref="BusyWaitShare"/>.</summary>
    internal const double DefaultBusyWaitShare = 1.0;

    /// <summary>Consecutive slowed time loops that mark the cores busy: a single one may be a hiccup of the host.</summary>
    internal const int SlowedLoopsToMarkBusy = 2;

    /// <summary>Slowed time loops in a row so far, process-wide.</summary>
    private static int s_slowedLoops;

    /// <summary>Busy verdicts in a row (no normal loop between), process-wide: the window doubles with each, up to
    /// <see cref="MaxBusyWindowDoublings"/> times.</summary>
    private static int s_busyVerdicts;

    /// <summary>How many times a run of busy verdicts doubles the window (20 ms → 320 ms): while the cores stay busy, the
    /// probe that ends each window (one slowed loop on two threads) comes less and less often.</summary>
    internal const int MaxBusyWindowDoublings = 4;

    /// <summary>The fewest steps a time loop needs to judge the cores by (its first step's wait does not count).</summary>
    internal const int MinStepsToJudge = 8;

    /// <summary>How long busy cores keep every phase on the calling thread (Stopwatch ticks), after which the next phase
    /// tries the helpers again. Settable for tests.</summary>
    internal static long BusyWindowTicks { get; set; } = DefaultBusyWindowTicks;

    /// <summary>The default of <see cref="BusyWindowTicks"/>: 20 ms, a few calls of a batch-1 layer. A computed property,
    /// so that the initialiser of <see cref="BusyWindowTicks"/> cannot read it before it is set (static initialisers run
    /// in textual order).</summary>
    internal static long DefaultBusyWindowTicks => Stopwatch.Frequency / 50;

    /// <summary>Until when (Stopwatch ticks) phases stay on the calling thread.</summary>
    private static long s_busyUntil = long.MinValue;

    /// <summary>The length of the last busy window (Stopwatch ticks; tests).</summary>
    internal static long LastBusyWindowTicks { get; private set; }

    /// <summary>Phases run on the caller alone because the cores were busy (<see cref="JudgeCores"/>), process-wide.</summary>
    private static long s_phasesLeftBusy;

    internal static long PhasesLeftBusy => Interlocked.Read(ref s_phasesLeftBusy);

    /// <summary>
    /// Takes a split time loop's verdict: after <see cref="SlowedLoopsToMarkBusy"/> slowed loops in a row
    /// (<see cref="BusyWaitShare"/>), every phase runs on the calling thread for a while (<see cref="BusyWindowTicks"/>),
    /// with the same results. The first split loop after the window is the probe: if it is slowed too, it alone renews
    /// the verdict, for twice as long (up to <see cref="MaxBusyWindowDoublings"/> doublings); a normal loop starts over.
    /// Measured on the CI machine (2026-11-29, one process, 1 and 2 threads in turn, a busy loop pinned to one core): S1
    /// at 2 threads ran at 0.91–0.95× its one-thread speed when every window took two slowed loops and lasted 20 ms.
    /// </summary>
    internal static void JudgeCores(bool slowed)
    {
        if (!slowed)
        {
            Volatile.Write(ref s_slowedLoops, 0);
            Volatile.Write(ref s_busyVerdicts, 0);
        }
        else if (Interlocked.Increment(ref s_slowedLoops) >= SlowedLoopsToMarkBusy)
        {
            // One short of a verdict, so that a slowed probe after the window renews it.
            Volatile.Write(ref s_slowedLoops, SlowedLoopsToMarkBusy - 1);
            int doublings = Math.Min(Interlocked.Increment(ref s_busyVerdicts) - 1, MaxBusyWindowDoublings);
            long window = BusyWindowTicks << doublings;
            LastBusyWindowTicks = window;
            Volatile.Write(ref s_busyUntil, Stopwatch.GetTimestamp() + window);
        }
    }

    /// <summary>Forgets slowed loops and busy cores (tests).</summary>
    internal static void ClearCoresBusy()
    {
        Volatile.Write(ref s_slowedLoops, 0);
        Volatile.Write(ref s_busyVerdicts, 0);
        Volatile.Write(ref s_busyUntil, long.MinValue);
    }

    /// <summary>
    /// How many of the first <paramref name="helperCount"/> helpers a phase of <paramref name="flops"/> should be split
    /// for: none while the cores are busy with other work (<see cref="JudgeCores"/>); else all of them when the phase is worth a wake-up (<see cref="MinWakeFlops"/>, times <see cref="NearPeakWakeFactor"/>
    /// when it runs <paramref name="nearPeak"/>) or when none is asleep (each is spinning, so it starts within a
    /// microsecond); otherwise none. The results are the same either way (<see cref="IPartitionedWork"/>). A phase left
    /// to the caller shortly after another wakes the helpers for the phases that follow (<see cref="CloseSuccessionTicks"/>).
    /// </summary>
    public static int Ready(ReadOnlySpan<HelperThreads?> helpers, int helperCount, double flops, bool nearPeak = false)
    {
        if (helperCount > 0 && Stopwatch.GetTimestamp() < Volatile.Read(ref s_busyUntil))
        {
            Interlocked.Increment(ref s_phasesLeftBusy);
            return 0;
        }

        if (helperCount == 0 || flops >= (nearPeak ? NearPeakWakeFactor * MinWakeFlops : MinWakeFlops))
        {
            return helperCount;
        }

        bool asleep = false;
        for (int i = 0; i < helperCount; i++)
        {
            asleep |= helpers[i]!.IsAsleep;
        }

        if (!asleep)
        {
            return helperCount;
        }

        HelperThreads first = helpers[0]!;
        long now = Stopwatch.GetTimestamp();
        if (now - first._leftAsleepAt < CloseSuccessionTicks)
        {
            for (int i = 0; i < helperCount; i++)
            {
                helpers[i]!.Wake();
            }
        }

        first._leftAsleepAt = now;
        Interlocked.Increment(ref s_phasesLeftToCaller);
        return 0;
    }

    /// <summary>
    /// Runs parts 0..<paramref name="parts"/>−1 of <paramref name="work"/>: part i ≥ 1 on helper i − 1 when there is
    /// one, part 0 and any part without a helper on the calling thread. Returns when every part has finished; an
    /// exception from any part is rethrown after all have finished.
    /// </summary>
    public static void Run(IPartitionedWork work, int parts, ReadOnlySpan<HelperThreads?> helpers, int helperCount)
    {
        if (parts == 1)
        {
            work.RunPart(0, 1);
            return;
        }

        int started = Math.Min(parts - 1, helperCount);
        for (int i = 0; i < started; i++)
        {
            helpers[i]!.Start(work, i + 1, parts);
        }

        ExceptionDispatchInfo? error = null;
        try
        {
            work.RunPart(0, parts);
            for (int part = started + 1; part < parts; part++)
            {
                work.RunPart(part, parts);
            }
        }
        catch (Exception e)
        {
            error = ExceptionDispatchInfo.Capture(e);
        }

        // Always wait, even through an interrupt: the parts read and write the caller's buffers, which must outlive them.
        for (int i = 0; i < started; i++)
        {
            ExceptionDispatchInfo? helperError = helpers[i]!.Wait();

            // A part stopped by the barrier only reports that another part failed: report the failure itself.
            if (error is null || (error.SourceException is BarrierBrokenException && helperError is not null))
            {
                error = helperError ?? error;
            }
        }

        error?.Throw();
    }

    /// <summary>Delivers an interrupt that arrived while waiting uninterruptibly, at the thread's next blocking call.</summary>
    internal static void ReraiseInterrupt(bool interrupted)
    {
        if (interrupted)
        {
            Thread.CurrentThread.Interrupt();
        }
    }

    private void Start(IPartitionedWork work, int part, int parts)
    {
        _part = part;
        _parts = parts;
        _error = null;
        _done.Reset();
        Volatile.Write(ref _work, work); // last: the helper reads the fields above once it has taken the work
        _start.Set();
    }

    /// <summary>Brings a sleeping helper back to spinning, with nothing to run (see <see cref="Ready"/>).</summary>
    private void Wake() => _start.Set();

    /// <summary>Ends an idle helper's loop (under s_poolLock, on a helper no call holds).</summary>
    private void Stop()
    {
        _stopped = true;
        _start.Set();
    }

    /// <summary>Stops the pool when the library's load context unloads.</summary>
    private static void HookUnloading()
    {
        AssemblyLoadContext? context = AssemblyLoadContext.GetLoadContext(typeof(HelperThreads).Assembly);
        if (context is not null)
        {
            context.Unloading += _ => StopPool();
        }
    }

    /// <summary>No helper is handed out or kept from now on; the idle ones end now, the rented ones when given back.</summary>
    private static void StopPool()
    {
        lock (s_poolLock)
        {
            s_stopped = true;
            while (s_idle.TryPop(out HelperThreads? idle))
            {
                idle.Stop();
            }
        }
    }

    private ExceptionDispatchInfo? Wait()
    {
        _done.Wait();
        return _error;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs for the life of the process: never as tier-0 code
    private void Loop()
    {
        while (true)
        {
            _start.Wait();
            _start.Reset();

            // After the reset, a full fence: a start whose signal the reset cleared has already published its work.
            IPartitionedWork? work = Interlocked.Exchange(ref _work, null);
            if (work is null)
            {
                if (_stopped)
                {
                    return; // idle in a stopped pool: nothing can start a part on it any more
                }

                continue; // a wake-up, or the signal of a start whose work an earlier loop took
            }

            try
            {
                work.RunPart(_part, _parts);
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
            }

            _done.Set();
        }
    }

    /// <summary>
    /// A flag one thread sets and another waits for: spin first, then block on a monitor. Unlike
    /// ManualResetEventSlim it allocates nothing on first blocking, so calls stay allocation-free.
    /// </summary>
    private sealed class Signal
    {
        private readonly object _gate = new();
        private int _set; // 1 when set: volatile reads and writes, an interlocked reset
        private volatile bool _waiterBlocked;
        private long _blockedWaitsEnded;

        /// <summary>Whether the waiter has given up spinning and blocks on the monitor (a Set must wake it).</summary>
        public bool WaiterBlocked => _waiterBlocked;

        /// <summary>Waits that blocked and have returned.</summary>
        public long BlockedWaitsEnded => Interlocked.Read(ref _blockedWaitsEnded);

        /// <summary>Sets the flag and wakes the waiter; not interruptible (see <see cref="Wait"/>).</summary>
        public void Set()
        {
            bool interrupted = false;
            while (true)
            {
                try
                {
                    lock (_gate)
                    {
                        Volatile.Write(ref _set, 1);
                        Monitor.PulseAll(_gate);
                    }

                    break;
                }
                catch (ThreadInterruptedException)
                {
                    interrupted = true;
                }
            }

            ReraiseInterrupt(interrupted);
        }

        /// <summary>Clears the flag with a full fence, so that what a Set published before setting the flag this clears is
        /// visible to the reads that follow.</summary>
        public void Reset() => Interlocked.Exchange(ref _set, 0);

        private bool IsSet => Volatile.Read(ref _set) != 0;

        /// <summary>
        /// Returns once the flag is set. Not interruptible: a Thread.Interrupt while blocked is held back and raised
        /// again on return, because a caller that left early would free buffers a helper is still writing.
        /// </summary>
        public void Wait()
        {
            for (int i = 0, spins = SpinIterations; i < spins && !IsSet; i++)
            {
                Thread.SpinWait(1);
            }

            bool interrupted = false, blocked = false;
            while (!IsSet)
            {
                _waiterBlocked = blocked = true;
                try
                {
                    lock (_gate)
                    {
                        while (!IsSet)
                        {
                            Monitor.Wait(_gate);
                        }
                    }
                }
                catch (ThreadInterruptedException)
                {
                    interrupted = true;
                }
            }

            if (blocked)
            {
                _waiterBlocked = false;
                Interlocked.Increment(ref _blockedWaitsEnded);
            }

            ReraiseInterrupt(interrupted);
        }
    }
}
