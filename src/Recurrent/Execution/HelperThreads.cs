using System.Runtime.ExceptionServices;

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
/// </summary>
internal sealed class HelperThreads
{
    /// <summary>Spin-loop iterations (one pause each, ~50 µs in all) before blocking on a start or done signal: a phase
    /// of a time loop is short, a wake-up from blocking is not, and back-to-back calls find the helper still spinning.</summary>
    private const int SpinIterations = 1000;

    private static readonly object s_poolLock = new();
    private static readonly Stack<HelperThreads> s_idle = new();
    // At least one, so that the parallel paths run (and are tested) even where only one processor is visible.
    private static readonly int s_maxHelpers = Math.Max(1, Environment.ProcessorCount - 1);
    private static int s_created;

    private readonly Signal _start = new();
    private readonly Signal _done = new();
    private IPartitionedWork? _work;
    private int _part;
    private int _parts;
    private ExceptionDispatchInfo? _error;

    private HelperThreads()
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = "Recurrent helper" };
        thread.Start();
    }

    /// <summary>Fills <paramref name="helpers"/> with idle helpers (creating them up to the process limit); returns how many.</summary>
    public static int Rent(Span<HelperThreads?> helpers)
    {
        int rented = 0;
        lock (s_poolLock)
        {
            while (rented < helpers.Length)
            {
                if (s_idle.TryPop(out HelperThreads? idle))
                {
                    helpers[rented++] = idle;
                }
                else if (s_created < s_maxHelpers)
                {
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
                        s_idle.Push(helpers[i]!);
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
    private static void ReraiseInterrupt(bool interrupted)
    {
        if (interrupted)
        {
            Thread.CurrentThread.Interrupt();
        }
    }

    private void Start(IPartitionedWork work, int part, int parts)
    {
        _work = work;
        _part = part;
        _parts = parts;
        _error = null;
        _done.Reset();
        _start.Set();
    }

    private ExceptionDispatchInfo? Wait()
    {
        _done.Wait();
        _work = null;
        return _error;
    }

    private void Loop()
    {
        while (true)
        {
            _start.Wait();
            _start.Reset();
            try
            {
                _work!.RunPart(_part, _parts);
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
        private volatile bool _set;

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
                        _set = true;
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

        public void Reset() => _set = false;

        /// <summary>
        /// Returns once the flag is set. Not interruptible: a Thread.Interrupt while blocked is held back and raised
        /// again on return, because a caller that left early would free buffers a helper is still writing.
        /// </summary>
        public void Wait()
        {
            for (int i = 0; i < SpinIterations && !_set; i++)
            {
                Thread.SpinWait(1);
            }

            bool interrupted = false;
            while (!_set)
            {
                try
                {
                    lock (_gate)
                    {
                        while (!_set)
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

            ReraiseInterrupt(interrupted);
        }
    }
}
