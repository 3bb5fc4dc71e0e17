using Recurrent.Kernels;
using Recurrent.Parameters;

namespace Recurrent.Execution;

/// <summary>
/// One-step blocks of RNN and LSTM: gates = [x_t | h]·[W_ih | W_hh]ᵀ + folded bias in one product over the weights
/// packed side by side (<see cref="DirectionWeights.JoinedWeights"/>), instead of the input product and then the
/// recurrent one. The chain per gate is the same (bias, then x's terms, then h's), so are the bits; the gain is that the
/// two matrices stream as one sequence, which the alternating <see cref="PanelOrder"/> then finds partly in L2, and that
/// two threads need one hand-off per step and no barrier.
/// </summary>
internal sealed unsafe partial class DirectionPass
{
    /// <summary>Steps run as one joined product (<see cref="RunJoinedStep"/>), process-wide (lets tests see that the path ran).</summary>
    private static long s_joinedSteps;

    /// <summary>Steps run as one joined product so far, process-wide.</summary>
    internal static long JoinedSteps => Interlocked.Read(ref s_joinedSteps);

    /// <summary>
    /// The block's single step (RNN, LSTM) as gates = [x_t | h]·[W_ih | W_hh]ᵀ + folded bias: the same chain per gate as
    /// the input product followed by the recurrent one (bias, then x's terms, then h's), so the same bits.
    /// </summary>
    private void RunJoinedStep(PackedMatrix joined)
    {
        Interlocked.Increment(ref s_joinedSteps);
        FillJoinedInputs();
        int t = _first, rows = _schedule.Rows(t), width = _inputWidth + _config.OutputSize;
        Gemm.Multiply(
            _workspace.JoinedInputs.AsSpan(0, rows * width), width, rows, joined, _weights.InputBias, _workspace.Gates.Span, _config.GateWidth,
            accumulate: false, 0, joined.PanelCount, OrderOf(0));
        RunStep(t, 0, 0, rows, OrderOf(0), gatesDone: true);
    }

    /// <summary>The one-step block's rows [x_t | h] into <see cref="Workspace.JoinedInputs"/>, (rows, H_in + H_out).</summary>
    private void FillJoinedInputs()
    {
        int rows = _schedule.Rows(_first);
        int inputWidth = _inputWidth, outputSize = _config.OutputSize, width = inputWidth + outputSize;
        Span<float> joinedInputs = _workspace.JoinedInputs.AsSpan(0, rows * width);
        ReadOnlySpan<float> input = new ReadOnlySpan<float>(_input, _inputLength).Slice(_firstRow * inputWidth, rows * inputWidth);
        ReadOnlySpan<float> hidden = _workspace.Hidden;
        StridedRows.Copy(input, inputWidth, joinedInputs, width, rows, inputWidth);
        StridedRows.Copy(hidden, outputSize, joinedInputs[inputWidth..], width, rows, outputSize);
    }

    /// <summary>
    /// This part's units of the one-step block (<see cref="SplitUnits"/>): their panels of each gate chunk of the joined
    /// product, their gate math, their h' (straight into h: every part reads h from the joined rows, filled before the
    /// phase) and their output columns.
    /// </summary>
    private void RunJoinedStepByUnits(int part)
    {
        LayerConfig config = _config;
        DirectionWeights weights = _weights;
        Workspace workspace = _workspace;
        PackedMatrix joined = weights.JoinedWeights!;
        int gateWidth = config.GateWidth, hiddenSize = config.HiddenSize, outputSize = config.OutputSize, width = _inputWidth + outputSize;
        int firstUnit = _unitSplits[part], units = _unitSplits[part + 1] - firstUnit;
        int firstPanel = firstUnit / PackedMatrix.PanelWidth, panelCount = units / PackedMatrix.PanelWidth;
        int t = _first, rows = _schedule.Rows(t), chunks = gateWidth / hiddenSize;
        PanelOrder order = OrderOf(0);
        ReadOnlySpan<float> joinedInputs = workspace.JoinedInputs.AsSpan(0, rows * width);
        Span<float> gates = workspace.Gates.AsSpan(0, rows * gateWidth);
        Span<float> hidden = workspace.Hidden.AsSpan(0, rows * outputSize);
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            int g = order == PanelOrder.Ascending ? chunk : chunks - 1 - chunk;
            Gemm.Multiply(
                joinedInputs, width, rows, joined, weights.InputBias, gates, gateWidth, accumulate: false,
                firstPanel + (g * hiddenSize / PackedMatrix.PanelWidth), panelCount, order);
        }

        if (config.CellType == CellType.Rnn)
        {
            GateMath.RnnStep(gates, hidden, outputSize, rows, hiddenSize, config.Nonlinearity, firstUnit, units);
        }
        else
        {
            GateMath.LstmStep(gates, workspace.Cell, hidden, outputSize, rows, hiddenSize, firstUnit, units);
        }

        int outputWidth = config.OutputWidth;
        Span<float> stepOutput = new Span<float>(_output, _outputLength)[((_schedule.Offset(t) * outputWidth) + (_direction * outputSize) + firstUnit)..];
        StridedRows.Copy(hidden[firstUnit..], outputSize, stepOutput, outputWidth, rows, units);
    }
}
