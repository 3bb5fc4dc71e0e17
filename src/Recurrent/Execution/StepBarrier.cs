namespace Recurrent.Execution;

/// <summary>
/// A reusable spinning barrier for the parts of one phase that meet once per time step (a step is microseconds:
/// blocking in the kernel would cost more than the step). Only used when every part has its own thread, so a part
/// that waits is never waiting for work queued behind itself.
/// </summary>
/// <remarks>
/// Invariant: <c>_arrived</c> counts the parts at the barrier in the current generation; the last to arrive resets it
/// and then advances <c>_generation</c>, which releases the others. If a part fails it calls <see cref="Break"/>, and
/// every wait (now or later) throws instead of waiting for a part that will never arrive.
/// </remarks>
internal sealed class StepBarrier
{
    private int _arrived;
    private int _generation;
    private volatile bool _broken;

    /// <summary>Arms the barrier for a new phase.</summary>
    public void Reset()
    {
        _arrived = 0;
        _broken = false;
    }

    /// <summary>Waits until all <paramref name="parts"/> parts have arrived.</summary>
    /// <exception cref="BarrierBrokenException">Another part failed.</exception>
    public void SignalAndWait(int parts)
    {
        int generation = Volatile.Read(ref _generation);
        if (Interlocked.Increment(ref _arrived) == parts)
        {
            _arrived = 0;
            Interlocked.Increment(ref _generation);
            return;
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref _generation) == generation)
        {
            if (_broken)
            {
                throw new BarrierBrokenException();
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Releases every waiter with an exception: a part has failed and will not arrive.</summary>
    public void Break() => _broken = true;
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
