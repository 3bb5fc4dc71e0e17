using Recurrent.Execution;

namespace Recurrent;

/// <summary>
/// Scratch memory for the Forward overloads that write into caller-provided buffers: sized on first use and kept, so
/// later calls of the same or a smaller shape allocate nothing. Any layer may use it, and a call of another shape or
/// layer simply resizes it.
/// </summary>
/// <remarks>
/// A workspace serves one call at a time: give each thread its own. Using one from two threads at once throws
/// <see cref="InvalidOperationException"/> rather than mixing their scratch data.
/// </remarks>
public sealed class ForwardWorkspace
{
    private Workspace? _runner;
    private int _inUse;

    /// <summary>Creates an empty workspace; its buffers are allocated by the first call that uses it.</summary>
    public ForwardWorkspace()
    {
    }

    /// <summary>Batch-first input (L, N > 1) swapped to seq-first; grown to the largest call seen.</summary>
    internal float[] InputStaging { get; private set; } = [];

    /// <summary>Seq-first output before it is swapped back to batch-first; grown like <see cref="InputStaging"/>.</summary>
    internal float[] OutputStaging { get; private set; } = [];

    /// <summary>Scratch floats held, for callers that cache a workspace and want to bound what they keep.</summary>
    internal long HeldFloats => (_runner?.HeldFloats ?? 0) + InputStaging.Length + OutputStaging.Length;

    /// <summary>Marks the workspace in use by the calling thread until <see cref="Release"/>.</summary>
    /// <exception cref="InvalidOperationException">Another call is using it.</exception>
    internal void Acquire()
    {
        if (Interlocked.Exchange(ref _inUse, 1) != 0)
        {
            throw new InvalidOperationException(
                "This ForwardWorkspace is in use by another call; a workspace serves one call at a time, so give each thread its own.");
        }
    }

    internal void Release() => Volatile.Write(ref _inUse, 0);

    /// <summary>The runner's scratch for this call: the one held if it fits, else a new one that replaces it.</summary>
    internal Workspace Runner(LayerConfig config, StepSchedule schedule, int parallelism)
    {
        if (_runner is null || !_runner.Fits(config, schedule, parallelism))
        {
            _runner = new Workspace(config, schedule, parallelism);
        }

        return _runner;
    }

    /// <summary>Staging buffers of at least the given lengths (grown, never shrunk).</summary>
    internal (float[] Input, float[] Output) Staging(int inputLength, int outputLength)
    {
        if (InputStaging.Length < inputLength)
        {
            InputStaging = new float[inputLength];
        }

        if (OutputStaging.Length < outputLength)
        {
            OutputStaging = new float[outputLength];
        }

        return (InputStaging, OutputStaging);
    }
}
