using Recurrent.Execution;

namespace Recurrent;

/// <summary>
/// Scratch memory for the Forward overloads that write into caller-provided buffers: sized on first use and kept, so
/// later calls allocate nothing. The scratch of a call fits later calls of the same layer (or one of the same sizes)
/// with the same batch size, no more steps and the same <see cref="RecurrentLayer.MaxDegreeOfParallelism"/>; the
/// workspace keeps the scratch of up to four such call shapes at once, so calls that alternate among a few batch sizes
/// allocate nothing either, once each has run. Any layer may use it: a call that fits none of them adds its own
/// scratch, in place of the least recently used one beyond that count.
/// </summary>
/// <remarks>
/// A workspace serves one call at a time: give each thread its own. Using one from two threads at once throws
/// <see cref="InvalidOperationException"/> rather than mixing their scratch data.
/// </remarks>
public sealed class ForwardWorkspace
{
    /// <summary>The most call shapes whose scratch a workspace keeps at once.</summary>
    internal const int MaxShapes = 4;

    /// <summary>Scratch of the call shapes seen, most recently used first; at most <see cref="MaxShapes"/>.</summary>
    private readonly List<Workspace> _runners = [];
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
    internal long HeldFloats => _runners.Sum(runner => runner.HeldFloats) + InputStaging.Length + OutputStaging.Length;

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

    /// <summary>The runner's scratch for this call: a held one that fits (now the most recently used), else a new one.
    /// A new one replaces the held ones it covers (<see cref="Workspace.Covers"/>: every call they fit, it fits), then
    /// the least recently used beyond <see cref="MaxShapes"/>. Whichever is returned,
    /// <see cref="Workspace.Fits(LayerConfig, StepSchedule, int)"/> holds for this call.</summary>
    internal Workspace Runner(LayerConfig config, StepSchedule schedule, int parallelism)
    {
        for (int i = 0; i < _runners.Count; i++)
        {
            Workspace held = _runners[i];
            if (held.Fits(config, schedule, parallelism))
            {
                if (i > 0)
                {
                    _runners.RemoveAt(i);
                    _runners.Insert(0, held);
                }

                return held;
            }
        }

        var runner = new Workspace(config, schedule, parallelism);
        for (int i = _runners.Count - 1; i >= 0; i--)
        {
            // No lambda here: one capturing the parameters would be allocated on every call, hits included.
            if (runner.Covers(_runners[i]))
            {
                _runners.RemoveAt(i);
            }
        }

        _runners.Insert(0, runner);
        if (_runners.Count > MaxShapes)
        {
            _runners.RemoveAt(_runners.Count - 1);
        }

        return runner;
    }

    /// <summary>Drops the least recently used scratch until at most <paramref name="floats"/> are held, the staging
    /// buffers last; whether that was reached.</summary>
    internal bool KeepWithin(long floats)
    {
        while (HeldFloats > floats && _runners.Count > 0)
        {
            _runners.RemoveAt(_runners.Count - 1);
        }

        if (HeldFloats > floats)
        {
            InputStaging = [];
            OutputStaging = [];
        }

        return HeldFloats <= floats;
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
