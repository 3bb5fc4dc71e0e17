using System.Numerics.Tensors;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>
/// A stack of recurrent layers over whole sequences: the common part of <see cref="Rnn"/>, <see cref="Gru"/> and
/// <see cref="Lstm"/> (PyTorch's <c>RNNBase</c>).
/// </summary>
/// <remarks>
/// Shapes, with L = sequence length, N = batch, D = 2 if bidirectional else 1, H_out = ProjSize if set else HiddenSize:
/// input (L, N, H_in), or (N, L, H_in) when batch-first, or (L, H_in) unbatched; output (L, N, D*H_out), batch-first
/// (N, L, D*H_out), unbatched (L, D*H_out); h0 and h_n (D*NumLayers, N, H_out), unbatched (D*NumLayers, H_out);
/// LSTM c0 and c_n (D*NumLayers, N, H), unbatched (D*NumLayers, H). States are never batch-first.
/// </remarks>
public abstract partial class RecurrentLayer : RecurrentModule
{
    private int _maxDegreeOfParallelism = 1;

    private protected RecurrentLayer(RecurrentLayerOptions options)
        : base(LayerConfig.Create(options), options.Seed)
    {
    }

    /// <summary>Stacked layers.</summary>
    public int NumLayers => Config.NumLayers;

    /// <summary>Whether input and output are (N, L, features).</summary>
    public bool BatchFirst => Config.BatchFirst;

    /// <summary>Dropout probability between layers in training mode.</summary>
    public double Dropout => Config.Dropout;

    /// <summary>Whether a reverse direction runs too.</summary>
    public bool Bidirectional => Config.Directions == 2;

    /// <summary>
    /// The most threads one call may use: the calling thread and up to this many − 1 long-lived helper threads shared
    /// by the process (at most one per extra processor). Default 1. A call splits the input products by output columns
    /// and the time loop by sequences of the batch, and only where the work is large enough to gain from it; batch-1
    /// time loops stay on one thread. Results are identical, bit for bit, for every value.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxDegreeOfParallelism = value;
        }
    }

    /// <summary>
    /// Builds an <see cref="Rnn"/>, <see cref="Gru"/> or <see cref="Lstm"/> from <paramref name="options"/>: for a layer
    /// whose kind is known only at run time.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid, as for the layer's constructor; ProjSize on RNN or GRU.</exception>
    public static RecurrentLayer Create(RecurrentLayerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.CellType switch
        {
            CellType.Lstm => new Lstm(options),
            CellType.Gru => new Gru(options),
            _ => new Rnn(options),
        };
    }

    /// <summary>
    /// Validates the call, runs the stack, and returns output, h_n and (LSTM) c_n in the caller's layout. Nothing is
    /// written to the caller's tensors; a failed check throws before any work.
    /// </summary>
    private protected (Tensor<float> Output, Tensor<float> Hidden, Tensor<float>? Cell) ForwardCore(Tensor<float> input, Tensor<float>? h0, Tensor<float>? c0)
    {
        ArgumentNullException.ThrowIfNull(input);
        LayerConfig config = Config;
        var (steps, batch, batched) = ReadInputShape(input);
        var (hiddenShape, cellShape) = CheckStates(h0, c0, batched, batch);
        bool isLstm = config.CellType == CellType.Lstm;
        bool batchFirst = batched && config.BatchFirst;
        ReadOnlySpan<float> x = TensorData.Read(input);
        if (batchFirst)
        {
            var seqFirst = new float[x.Length];
            SequenceLayout.SwapLeadingAxes(x, seqFirst, batch, steps, config.InputSize);
            x = seqFirst;
        }

        var output = new float[steps * batch * config.OutputWidth];
        var finalHidden = new float[config.StateCount * batch * config.OutputSize];
        float[] finalCell = isLstm ? new float[config.StateCount * batch * config.HiddenSize] : [];
        var schedule = new StepSchedule(steps, batch);
        var workspace = new Workspace(config, schedule, MaxDegreeOfParallelism);
        ReadOnlySpan<float> initialHidden = h0 is null ? default : TensorData.Read(h0);
        ReadOnlySpan<float> initialCell = c0 is null ? default : TensorData.Read(c0);
        SequenceRunner.Run(config, Parameters, schedule, x, initialHidden, initialCell, output, finalHidden, finalCell, workspace, DropoutRandomForCall());

        Tensor<float> outputTensor;
        if (batchFirst)
        {
            var batchMajor = new float[output.Length];
            SequenceLayout.SwapLeadingAxes(output, batchMajor, steps, batch, config.OutputWidth);
            outputTensor = TensorData.Wrap(batchMajor, batch, steps, config.OutputWidth);
        }
        else
        {
            outputTensor = batched
                ? TensorData.Wrap(output, steps, batch, config.OutputWidth)
                : TensorData.Wrap(output, steps, config.OutputWidth);
        }

        return (outputTensor, TensorData.Wrap(finalHidden, hiddenShape), isLstm ? TensorData.Wrap(finalCell, cellShape) : null);
    }

    private (int Steps, int Batch, bool Batched) ReadInputShape(Tensor<float> input)
    {
        LayerConfig config = Config;
        ReadOnlySpan<nint> shape = input.Lengths;
        string layout = config.BatchFirst ? "(N, L, H_in)" : "(L, N, H_in)";
        if (shape.Length is not (2 or 3))
        {
            throw new ArgumentException(
                $"Expected a 3-D batched input {layout} or a 2-D unbatched input (L, H_in) with H_in = {config.InputSize}, " +
                $"got a {shape.Length}-D tensor of shape {TensorData.FormatShape(shape)}.", nameof(input));
        }

        if (shape[^1] != config.InputSize)
        {
            throw new ArgumentException(
                $"input.size(-1) must be equal to input_size: expected {config.InputSize}, got {shape[^1]} (input shape {TensorData.FormatShape(shape)}).",
                nameof(input));
        }

        bool batched = shape.Length == 3;
        nint steps = batched && config.BatchFirst ? shape[1] : shape[0];
        nint batch = !batched ? 1 : config.BatchFirst ? shape[0] : shape[1];
        if (steps == 0)
        {
            throw new ArgumentException($"Expected a non-empty sequence (L > 0), got input shape {TensorData.FormatShape(shape)}.", nameof(input));
        }

        if (batch == 0)
        {
            throw new ArgumentException($"Expected a batch of at least one sequence (N > 0), got input shape {TensorData.FormatShape(shape)}.", nameof(input));
        }

        config.CheckCallSize((long)steps * batch, batch, nameof(input), shape);
        return ((int)steps, (int)batch, batched);
    }

    /// <summary>Checks h0 and (LSTM) c0 against the input; returns the shapes of h and c for this call.</summary>
    private (nint[] Hidden, nint[] Cell) CheckStates(Tensor<float>? h0, Tensor<float>? c0, bool batched, int batch)
    {
        LayerConfig config = Config;
        bool isLstm = config.CellType == CellType.Lstm;
        if (isLstm && (h0 is null) != (c0 is null))
        {
            throw new ArgumentException(
                $"LSTM takes h0 and c0 together or neither; got {(h0 is null ? "c0 without h0" : "h0 without c0")}.", h0 is null ? nameof(h0) : nameof(c0));
        }

        nint[] hiddenShape = StateShape(batched, batch, config.OutputSize);
        nint[] cellShape = StateShape(batched, batch, config.HiddenSize);
        StateShapeCheck.Check(h0, nameof(h0), hiddenShape, batched ? "3-D (batched)" : "2-D (unbatched)");
        if (isLstm)
        {
            StateShapeCheck.Check(c0, nameof(c0), cellShape, batched ? "3-D (batched)" : "2-D (unbatched)");
        }

        return (hiddenShape, cellShape);
    }

    private nint[] StateShape(bool batched, int batch, int features) =>
        batched ? [Config.StateCount, batch, features] : [Config.StateCount, features];
}
