using System.Runtime.Intrinsics;
using Recurrent.Kernels;

namespace Recurrent.Execution;

/// <summary>
/// Blocks of RNN and LSTM layers with few gates (G·H ≤ 32) and a batch of at least <see cref="MinLaneBatch"/>: the
/// time loop runs with the batch across vector lanes (<see cref="LaneSteps"/>), one step at a time as xᵀ in, the
/// joined product, the gate math, h' out. No input product ahead of the loop and no gate buffer: at these sizes the
/// row-major path spends its time on short rows (packing them, per-tile overhead, gate math on part-filled vectors).
/// Same bits as the row-major path (see <see cref="LaneSteps"/>), so whether a layer runs in lanes never changes its
/// results; it runs on the calling thread whatever the thread count.
/// </summary>
internal sealed unsafe partial class DirectionPass
{
    /// <summary>Smallest batch run in lanes: half a vector of sequences.</summary>
    internal const int MinLaneBatch = LaneSteps.Lanes / 2;

    /// <summary>Blocks run in lanes, process-wide (lets tests see that the path ran).</summary>
    private static long s_laneBlocks;

    /// <summary>Blocks run in lanes so far, process-wide.</summary>
    internal static long LaneBlocks => Interlocked.Read(ref s_laneBlocks);

    /// <summary>Tests only: forces lane steps on or off for workspaces created from now on (null: where Vector512 is
    /// accelerated, since the lane kernels are written for 16 lanes and are slow where the runtime emulates them).</summary>
    internal static bool? LanesOverride { get; set; }

    /// <summary>Whether a workspace for <paramref name="config"/> at <paramref name="batch"/> runs its blocks in lanes.</summary>
    internal static bool RunsInLanes(LayerConfig config, int batch) =>
        (LanesOverride ?? Vector512.IsHardwareAccelerated) && config.CellType is CellType.Rnn or CellType.Lstm && config.ProjSize == 0 &&
        config.GateWidth <= PackedMatrix.PanelWidth && batch >= MinLaneBatch;

    /// <summary>
    /// The block's steps in lanes: workspace.Hidden and workspace.Cell transposed in, then per step xᵀ in (or read as it
    /// is from a lower layer's output in lanes), the joined product, the gate math, h' out to the output rows (or copied
    /// as it is to the output in lanes, for the next layer). Invariant between steps: <c>hidden</c> (one of
    /// <see cref="Workspace.LaneHidden"/>'s two buffers) holds hᵀ and <see cref="Workspace.LaneCell"/> cᵀ of every
    /// sequence, run or not. On return workspace.Hidden and workspace.Cell hold them row-major again.
    /// </summary>
    private void RunLaneSteps(PackedMatrix joined)
    {
        Interlocked.Increment(ref s_laneBlocks);
        Workspace workspace = _workspace;
        LayerConfig config = _config;
        int stride = workspace.LaneStride, batch = _schedule.Batch, hiddenSize = config.HiddenSize, inputWidth = _inputWidth;
        int outputWidth = config.OutputWidth, laneFloats = hiddenSize * stride;
        bool lstm = config.CellType == CellType.Lstm;
        Span<float> hidden = workspace.LaneHidden.AsSpan(0, laneFloats);
        Span<float> hiddenNext = workspace.LaneHidden.AsSpan(laneFloats, laneFloats);
        Span<float> cell = lstm ? workspace.LaneCell.AsSpan(0, laneFloats) : default;
        Span<float> inputs = workspace.LaneInputs.AsSpan(0, inputWidth * stride);
        Span<float> gates = workspace.LaneGates;
        var input = new ReadOnlySpan<float>(_input, _inputLength);
        var output = new Span<float>(_output, _outputLength);

        LaneTransposes.ToLanes(workspace.Hidden, hiddenSize, batch, hiddenSize, hidden, stride);
        if (lstm)
        {
            LaneTransposes.ToLanes(workspace.Cell, hiddenSize, batch, hiddenSize, cell, stride);
        }

        bool reverse = _direction == 1;
        for (int i = _first; i < _end; i++)
        {
            int t = reverse ? _end - 1 - (i - _first) : i;
            int rows = _schedule.Rows(t), offset = _schedule.Offset(t);
            // x_tᵀ: straight from a lower layer's output in lanes, else transposed from the input rows.
            ReadOnlySpan<float> stepInputs = inputs;
            if (_inputInLanes)
            {
                stepInputs = input.Slice(t * inputWidth * stride, inputWidth * stride);
            }
            else
            {
                LaneTransposes.ToLanes(input.Slice(offset * inputWidth, rows * inputWidth), inputWidth, rows, inputWidth, inputs, stride);
            }

            LaneSteps.Product(joined, _weights.InputBias, stepInputs, inputWidth, hidden, hiddenSize, stride, rows, gates);
            if (lstm)
            {
                LaneSteps.Lstm(gates, hidden, cell, hiddenNext, hiddenSize, stride, rows);
            }
            else
            {
                LaneSteps.Rnn(gates, hidden, hiddenNext, hiddenSize, stride, rows, config.Nonlinearity);
            }

            if (_outputInLanes)
            {
                hiddenNext.CopyTo(output.Slice(((t * outputWidth) + (_direction * hiddenSize)) * stride, laneFloats));
            }
            else
            {
                LaneTransposes.FromLanes(hiddenNext, stride, rows, hiddenSize, output[((offset * outputWidth) + (_direction * hiddenSize))..], outputWidth);
            }

            Span<float> swap = hidden;
            hidden = hiddenNext;
            hiddenNext = swap;
        }

        LaneTransposes.FromLanes(hidden, stride, batch, hiddenSize, workspace.Hidden, hiddenSize);
        if (lstm)
        {
            LaneTransposes.FromLanes(cell, stride, batch, hiddenSize, workspace.Cell, hiddenSize);
        }
    }
}
