using System.Numerics.Tensors;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>
/// The state a unidirectional layer carries between calls when a sequence arrives one step or one chunk at a time:
/// h for every layer and, for LSTM, c. Created by <see cref="RecurrentLayer.CreateState(int)"/>, owned by the caller,
/// advanced in place by <see cref="RecurrentLayer.Step(Tensor{float}, RecurrentState)"/>.
/// </summary>
/// <remarks>
/// One layer serves many states at once (one per stream, e.g. per thread or per user); a state serves one call at a
/// time. It also keeps the scratch buffers its calls need, so steady-state steps allocate nothing.
/// </remarks>
public sealed class RecurrentState
{
    private readonly float[] _hidden;
    private readonly float[] _cell;
    private int _inUse;

    internal RecurrentState(LayerConfig config, int batchSize, bool batched)
    {
        Config = config;
        BatchSize = batchSize;
        IsBatched = batched;
        _hidden = new float[config.NumLayers * batchSize * config.OutputSize];
        _cell = config.CellType == CellType.Lstm ? new float[config.NumLayers * batchSize * config.HiddenSize] : [];
        Hidden = batched
            ? TensorData.Wrap(_hidden, config.NumLayers, batchSize, config.OutputSize)
            : TensorData.Wrap(_hidden, config.NumLayers, config.OutputSize);
        Cell = config.CellType != CellType.Lstm ? null
            : batched ? TensorData.Wrap(_cell, config.NumLayers, batchSize, config.HiddenSize)
            : TensorData.Wrap(_cell, config.NumLayers, config.HiddenSize);
    }

    /// <summary>
    /// h of every layer after the last step taken: (NumLayers, N, H_out), or (NumLayers, H_out) for an unbatched state.
    /// A live view: steps update it, and writing to it sets the state the next step starts from.
    /// </summary>
    public Tensor<float> Hidden { get; }

    /// <summary>LSTM: c of every layer, (NumLayers, N, H) or (NumLayers, H); a live view like <see cref="Hidden"/>. Null otherwise.</summary>
    public Tensor<float>? Cell { get; }

    /// <summary>N: the number of independent sequences advanced together (1 for an unbatched state).</summary>
    public int BatchSize { get; }

    /// <summary>Whether steps take batched (3-D) chunks; an unbatched state takes (L, H_in) chunks.</summary>
    public bool IsBatched { get; }

    internal LayerConfig Config { get; }

    internal Span<float> HiddenData => _hidden;

    internal Span<float> CellData => _cell;

    /// <summary>Scratch for this state's calls, grown to the longest chunk seen.</summary>
    internal Workspace? Workspace { get; set; }

    /// <summary>Batch-first chunks (L &gt; 1) are swapped to seq-first here, and outputs back; grown like the workspace.</summary>
    internal float[] InputStaging { get; set; } = [];

    internal float[] OutputStaging { get; set; } = [];

    /// <summary>Marks the state in use by the calling thread until <see cref="Release"/>.</summary>
    /// <exception cref="InvalidOperationException">Another call is using it.</exception>
    internal void Acquire()
    {
        if (Interlocked.Exchange(ref _inUse, 1) != 0)
        {
            throw new InvalidOperationException(
                "This RecurrentState is in use by another call; a state serves one stream and one call at a time.");
        }
    }

    internal void Release() => Volatile.Write(ref _inUse, 0);

    /// <summary>Sets h (and c) back to zeros, the state before the first step.</summary>
    public void Reset()
    {
        Array.Clear(_hidden);
        Array.Clear(_cell);
    }
}
