using System.Numerics.Tensors;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>
/// One time step of a recurrence: the common part of <see cref="RnnCell"/>, <see cref="GruCell"/> and
/// <see cref="LstmCell"/> (PyTorch's <c>RNNCellBase</c>). Parameters: weight_ih (G*H, H_in), weight_hh (G*H, H),
/// bias_ih (G*H), bias_hh (G*H). Input (N, H_in) or unbatched (H_in); states (N, H) or (H) to match.
/// </summary>
public abstract class RecurrentCell : RecurrentModule
{
    private protected RecurrentCell(CellType cellType, int inputSize, int hiddenSize, bool bias, Nonlinearity nonlinearity, int? seed)
        : base(
            LayerConfig.Create(
                new RecurrentLayerOptions
                {
                    CellType = cellType, InputSize = inputSize, HiddenSize = hiddenSize, Bias = bias, Nonlinearity = nonlinearity,
                },
                isCell: true),
            seed)
    {
    }

    /// <summary>Validates the call and computes one step; returns h' and (LSTM) c' shaped like the state.</summary>
    private protected (Tensor<float> Hidden, Tensor<float>? Cell) StepCore(Tensor<float> input, Tensor<float>? hx, Tensor<float>? cx)
    {
        ArgumentNullException.ThrowIfNull(input);
        LayerConfig config = Config;
        ReadOnlySpan<nint> shape = input.Lengths;
        if (shape.Length is not (1 or 2))
        {
            throw new ArgumentException(
                $"{TorchName}: expected input to be 1-D (H_in) or 2-D (N, H_in) with H_in = {config.InputSize}, " +
                $"got a {shape.Length}-D tensor of shape {TensorData.FormatShape(shape)}.", nameof(input));
        }

        if (shape[^1] != config.InputSize)
        {
            throw new ArgumentException(
                $"input.size(-1) must be equal to input_size: expected {config.InputSize}, got {shape[^1]} (input shape {TensorData.FormatShape(shape)}).",
                nameof(input));
        }

        bool batched = shape.Length == 2;
        int batch = batched ? checked((int)shape[0]) : 1; // may be 0: PyTorch returns (0, H)
        config.CheckCallSize(batch, batch, nameof(input), shape);
        bool isLstm = config.CellType == CellType.Lstm;
        if (isLstm && (hx is null) != (cx is null))
        {
            string name = hx is null ? "h" : "c";
            throw new ArgumentException($"LSTMCell takes h and c together or neither; got {(hx is null ? "c without h" : "h without c")}.", name);
        }

        nint[] stateShape = batched ? [batch, config.HiddenSize] : [config.HiddenSize];
        StateShapeCheck.Check(hx, isLstm ? "h" : "hx", stateShape, batched ? "2-D (batched)" : "1-D (unbatched)");
        StateShapeCheck.Check(cx, "c", stateShape, batched ? "2-D (batched)" : "1-D (unbatched)");

        if (batch == 0)
        {
            return (Tensor.CreateFromShape<float>(stateShape), isLstm ? Tensor.CreateFromShape<float>(stateShape) : null);
        }

        var hidden = new float[batch * config.HiddenSize];
        var finalHidden = new float[hidden.Length];
        float[] cell = isLstm ? new float[hidden.Length] : [];
        var schedule = new StepSchedule(steps: 1, batch);
        var workspace = new Workspace(config, schedule);
        ReadOnlySpan<float> initialHidden = hx is null ? default : TensorData.Read(hx);
        ReadOnlySpan<float> initialCell = cx is null ? default : TensorData.Read(cx);
        SequenceRunner.Run(config, Parameters, schedule, TensorData.Read(input), initialHidden, initialCell, hidden, finalHidden, cell, workspace, dropoutRandom: null);
        return (TensorData.Wrap(hidden, stateShape), isLstm ? TensorData.Wrap(cell, stateShape) : null);
    }
}
