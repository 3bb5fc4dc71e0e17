namespace Recurrent.Execution;

/// <summary>
/// A reusable barrier for the parts of one phase that meet once per time step. A waiter spins first (a step is
/// microseconds, and its partner usually arrives within a few; see <see cref="SpinIterations"/>), then blocks on a
/// monitor until the last part to arrive wakes it. It never yields its core to another runnable thread while spinning:
/// when another process shares that core, a yield hands it over for a whole time slice (milliseconds), so every step
/// would wait that long. Only used when every part has its own thread, so a part that waits is never waiting for work
/// queued behind itself.
/// </summary>
/// <remarks>
/// Invariant: <c>_arrived</c> counts the parts at the barrier in the current generation; the last to arrive resets it
/// and then advances <c>_generation</c>, which releases the others, and wakes any that blocked. A waiter counts itself in
/// <c>_blocked</c> (a full fence) before it reads the generation for the last time; the last part advances the
/// generation (a full fence) before it reads <c>_blocked</c>: so either the waiter sees the new generation or the last
/// part sees the waiter and wakes it. If a part fails it calls <see cref="Break"/>, and every wait (now or later)
/// throws instead of waiting for a part that will never arrive.
/// </remarks>
internal sealed class StepBarrier
{
    /// <summary>
    /// Spins (one pause each, ~200 µs in all) before a waiter blocks. Measured on the CI machine (2026-11-29, one process,
    /// 1 and 2 threads in turn, the busy-core check on), against the barrier before, which spun ~10 times and then yielded:
    /// <list type="bullet">
    /// <item>No other load: S1, S3 and S5 at 2 threads as fast as before, 1.60×, 1.69× and 2.13× their 1-thread speed.
    /// With 1000 pauses (~50 µs) some calls took several times as long (S1 3.6 ms on average against 2.1): a wait that
    /// blocked now and then woke late on this VM, and the busy-core check took those calls for a busy core.</item>
    /// <item>A busy process on each core: S1 at 2 threads 5.7–5.8 ms a call on average, against 8.1–20.5 ms before
    /// (4.0–4.7 on 1 thread): a yield gave the core to the busy process for a whole time slice at almost every step.</item>
    /// <item>One busy process pinned to one core: 3.8–4.0 ms on average against 2.8–3.2 before (2.8–3.0 on 1 thread);
    /// the medians are the same. When both our threads share the other core, the spin keeps the partner off it.</item>
    /// </list>
    /// </summary>
    private const int SpinIterations = 4000;

    private readonly object _gate = new();
    private int _arrived;
    private int _generation;
    private int _blocked;
    private long _blockedWaits;
    private volatile bool _broken;

    /// <summary>Waiters blocked on the monitor now (tests).</summary>
    internal int BlockedWaiters => Volatile.Read(ref _blocked);

    /// <summary>Waits that blocked so far (tests).</summary>
    internal long BlockedWaits => Interlocked.Read(ref _blockedWaits);

    /// <summary>Arms the barrier for a new phase.</summary>
    public void Reset()
    {
        _arrived = 0;
        _broken = false;
    }

    /// <summary>Waits until all <paramref name="parts"/> parts have arrived. Not interruptible: a Thread.Interrupt while
    /// blocked is held back and raised again on return, as the other parts still count on this one.</summary>
    /// <exception cref="BarrierBrokenException">Another part failed.</exception>
    public void SignalAndWait(int parts)
    {
        int generation = Volatile.Read(ref _generation);
        if (Interlocked.Increment(ref _arrived) == parts)
        {
            _arrived = 0;
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _blocked) > 0)
            {
                WakeAll();
            }

            return;
        }

        for (int i = 0; i < SpinIterations; i++)
        {
            if (Volatile.Read(ref _generation) != generation)
            {
                return;
            }

            if (_broken)
            {
                throw new BarrierBrokenException();
            }

            Thread.SpinWait(1);
        }

        Block(generation);
    }

    /// <summary>Releases every waiter with an exception: a part has failed and will not arrive.</summary>
    public void Break()
    {
        _broken = true;
        WakeAll();
    }

    /// <summary>Waits on the monitor until the generation moves on (or the barrier breaks).</summary>
    private void Block(int generation)
    {
        bool interrupted = false;
        try
        {
            while (true)
            {
                try
                {
                    lock (_gate)
                    {
                        Interlocked.Increment(ref _blockedWaits);
                        Interlocked.Increment(ref _blocked);
                        try
                        {
                            while (Volatile.Read(ref _generation) == generation)
                            {
                                if (_broken)
                                {
                                    throw new BarrierBrokenException();
                                }

                                Monitor.Wait(_gate);
                            }
                        }
                        finally
                        {
                            Interlocked.Decrement(ref _blocked);
                        }
                    }

                    return;
                }
                catch (ThreadInterruptedException)
                {
                    interrupted = true;
                }
            }
        }
        finally
        {
            HelperThreads.ReraiseInterrupt(interrupted);
        }
    }

    /// <summary>Wakes the waiters blocked on the monitor; not interruptible.</summary>
    private void WakeAll()
    {
        bool interrupted = false;
        while (true)
        {
            try
            {
                lock (_gate)
                {
                    Monitor.PulseAll(_gate);
                }

                break;
            }
            catch (ThreadInterruptedException)
            {
                interrupted = true;
            }
        }

        HelperThreads.ReraiseInterrupt(interrupted);
    }
}

/// <summary>Thrown to a part waiting at a <see cref="StepBarrier"/> when another part has failed; the other part's
/// exception is the one a caller sees (<see cref="HelperThreads.Run"/> prefers it).</summary>
internal sealed class BarrierBrokenException : OperationCanceledException
{
    public BarrierBrokenException()
        : base("Another part of this phase failed.")
    {
    }
}
