using System.Globalization;
using Recurrent.Kernels;

namespace Recurrent.Execution;

/// <summary>
/// The validated, immutable shape of a recurrent layer or cell, with the derived sizes every part of the library uses.
/// Invariant: every size is positive, <see cref="ProjSize"/> is 0 unless <see cref="CellType"/> is LSTM, and then it is
/// below <see cref="HiddenSize"/>; dropout is in [0, 1].
/// </summary>
internal sealed class LayerConfig
{
    private LayerConfig(RecurrentLayerOptions options, bool isCell)
    {
        CellType = options.CellType;
        InputSize = options.InputSize;
        HiddenSize = options.HiddenSize;
        NumLayers = options.NumLayers;
        Nonlinearity = options.Nonlinearity;
        HasBias = options.Bias;
        BatchFirst = options.BatchFirst;
        Dropout = options.Dropout;
        Directions = options.Bidirectional ? 2 : 1;
        ProjSize = options.ProjSize;
        IsCell = isCell;
    }

    public CellType CellType { get; }
    public int InputSize { get; }
    public int HiddenSize { get; }
    public int NumLayers { get; }
    public Nonlinearity Nonlinearity { get; }
    public bool HasBias { get; }
    public bool BatchFirst { get; }
    public double Dropout { get; }

    /// <summary>D: 2 when bidirectional, else 1.</summary>
    public int Directions { get; }

    public int ProjSize { get; }

    /// <summary>True for RnnCell/GruCell/LstmCell: parameter names carry no layer suffix.</summary>
    public bool IsCell { get; }

    /// <summary>G: gate chunks per step (RNN 1, GRU 3, LSTM 4).</summary>
    public int GateCount => CellType switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };

    /// <summary>G * H: columns of the gate pre-activations, rows of W_ih and W_hh.</summary>
    public int GateWidth => GateCount * HiddenSize;

    /// <summary>H_out: features of h (proj_size when projecting, else hidden_size).</summary>
    public int OutputSize => ProjSize > 0 ? ProjSize : HiddenSize;

    /// <summary>D * H_out: features of each output step.</summary>
    public int OutputWidth => Directions * OutputSize;

    /// <summary>D * num_layers: the leading dimension of h0/c0/h_n/c_n.</summary>
    public int StateCount => Directions * NumLayers;

    /// <summary>Features of the input to layer <paramref name="layer"/>.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : OutputWidth;

    /// <summary>Validates <paramref name="options"/> as PyTorch's constructors do, naming the argument at fault.</summary>
    public static LayerConfig Create(RecurrentLayerOptions options, bool isCell = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.CellType))
        {
            throw new ArgumentOutOfRangeException("cellType", options.CellType, "Expected Rnn, Gru or Lstm.");
        }

        RequirePositive(options.InputSize, "inputSize");
        RequirePositive(options.HiddenSize, "hiddenSize");
        RequirePositive(options.NumLayers, "numLayers");
        if (!Enum.IsDefined(options.Nonlinearity))
        {
            throw new ArgumentOutOfRangeException(
                "nonlinearity", options.Nonlinearity, $"Unknown nonlinearity {(int)options.Nonlinearity}: expected Tanh or Relu.");
        }

        if (options.CellType != CellType.Rnn && options.Nonlinearity != Nonlinearity.Tanh)
        {
            throw new ArgumentException(
                $"nonlinearity applies to RNN only; a {options.CellType} layer takes none (got {options.Nonlinearity}).", "nonlinearity");
        }

        if (!(options.Dropout >= 0 && options.Dropout <= 1))
        {
            throw new ArgumentOutOfRangeException(
                "dropout", options.Dropout, $"dropout should be a probability in [0, 1], got {options.Dropout.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (options.ProjSize != 0 && options.CellType != CellType.Lstm)
        {
            throw new ArgumentException(
                $"projSize is only supported for LSTM, not {options.CellType} (got projSize = {options.ProjSize}).", "projSize");
        }

        if (options.ProjSize < 0 || options.ProjSize >= options.HiddenSize)
        {
            throw new ArgumentOutOfRangeException(
                "projSize", options.ProjSize, $"projSize should be in [0, hiddenSize) = [0, {options.HiddenSize}), got {options.ProjSize}.");
        }

        CheckParameterSizes(options);
        if (options.Dropout > 0 && options.NumLayers == 1)
        {
            // PyTorch warns likewise: dropout acts between layers, so a single layer never applies it.
            System.Diagnostics.Trace.TraceWarning(
                $"dropout = {options.Dropout.ToString(CultureInfo.InvariantCulture)} has no effect with numLayers = 1: dropout is applied between layers only.");
        }

        return new LayerConfig(options, isCell);
    }

    /// <summary>
    /// Throws unless every buffer of a call fits in an array (with an aligned buffer's slack): <paramref name="rows"/>
    /// (step, sequence) rows of input, output and the layers' outputs, max(H_in, D*H_out) floats each; the gate buffer,
    /// which holds one block of steps (<see cref="Workspace.GateFloatsBound"/>), not the whole sequence's G*H per row; the
    /// (D*layers, N, max(H, H_out)) states; and the buffers of one row per sequence, which in lanes count the batch rounded
    /// up to a whole vector of sequences: the joined step's inputs, the lane inputs and the lane gates (two sets for GRU).
    /// Checked in 64 bits before any work.
    /// </summary>
    public void CheckCallSize(long rows, long batch, string paramName, ReadOnlySpan<nint> shape)
    {
        long maxFloats = Array.MaxLength - (AlignedFloats.AlignmentBytes / sizeof(float));
        long rowFloats = rows * Math.Max(InputSize, OutputWidth);
        long stateFloats = (long)StateCount * batch * Math.Max(HiddenSize, OutputSize);
        long gateFloats = Workspace.GateFloatsBound(this, rows, batch);
        long sequenceFloats = batch * (Math.Max(InputSize, OutputWidth) + OutputSize);
        if (DirectionPass.MayRunInLanes(this))
        {
            sequenceFloats = Math.Max(sequenceFloats, (batch + LaneSteps.Lanes) * Math.Max(Math.Max(InputSize, OutputWidth), 2L * (GateWidth + LaneSteps.RowsPerPass)));
        }

        long largest = Math.Max(Math.Max(rowFloats, stateFloats), Math.Max(gateFloats, sequenceFloats));
        if (largest > maxFloats)
        {
            throw new ArgumentException(
                $"Input shape {TensorData.FormatShape(shape)} needs a buffer of more than {maxFloats} elements ({largest}); split the sequence or the batch.",
                paramName);
        }
    }

    /// <summary>Every parameter must fit in one array (64-bit arithmetic, so nothing wraps around).</summary>
    private static void CheckParameterSizes(RecurrentLayerOptions options)
    {
        long gates = options.CellType switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };
        long gateWidth = gates * options.HiddenSize;
        long outputSize = options.ProjSize > 0 ? options.ProjSize : options.HiddenSize;
        long deeperInput = (options.Bidirectional ? 2 : 1) * outputSize;
        long largest = Math.Max(gateWidth * Math.Max(options.InputSize, options.NumLayers > 1 ? deeperInput : 0), gateWidth * outputSize);
        if (largest > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(
                options.InputSize >= options.HiddenSize ? "inputSize" : "hiddenSize",
                $"A weight matrix of {largest} elements (inputSize = {options.InputSize}, hiddenSize = {options.HiddenSize}) exceeds the {Array.MaxLength} elements an array can hold.");
        }
    }

    private static void RequirePositive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive, got {value}.");
        }
    }
}
