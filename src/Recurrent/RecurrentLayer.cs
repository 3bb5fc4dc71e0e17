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
    /// <summary>The most scratch floats (16 MiB) a layer keeps between convenience Forward calls.</summary>
    private const long CachedWorkspaceLimit = 1 << 22;

    private int _maxDegreeOfParallelism = 1;

    /// <summary>Threads a call can really use: <see cref="MaxDegreeOfParallelism"/> capped at what the process has.</summary>
    private protected int Parallelism => Math.Min(_maxDegreeOfParallelism, HelperThreads.MaxThreads);

    /// <summary>Scratch of the last convenience Forward call, taken by the next one (a busy or missing one is replaced).</summary>
    private ForwardWorkspace? _cachedWorkspace;

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
    /// by the process (one per extra processor, and one on a single-processor machine, where the busy-core check soon
    /// keeps the work on the calling thread; larger values act as that limit). Default 1. A call splits the input
    /// products by output columns; the time loop by sequences of the batch, or for batches under 8 by hidden units (one
    /// barrier per step); a bidirectional layer on two threads runs its directions side by side. Only work large
    /// enough to gain is split, and results are identical, bit for bit, for every value.
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
    /// written to the caller's tensors; a failed check throws before any work. Allocates only the returned tensors (and
    /// a workspace when the module's cached one is busy or too small).
    /// </summary>
    private protected (Tensor<float> Output, Tensor<float> Hidden, Tensor<float>? Cell) ForwardCore(Tensor<float> input, Tensor<float>? h0, Tensor<float>? c0)
    {
        ArgumentNullException.ThrowIfNull(input);
        LayerConfig config = Config;
        var (steps, batch, batched) = ReadInputShape(input.Lengths);
        var (hiddenShape, cellShape) = CheckStates(h0, c0, batched, batch);
        bool isLstm = config.CellType == CellType.Lstm;
        Tensor<float> output = Tensor.CreateFromShape<float>(OutputShape(batched, steps, batch, stackalloc nint[3]));
        Tensor<float> hidden = Tensor.CreateFromShape<float>(hiddenShape);
        Tensor<float>? cell = isLstm ? Tensor.CreateFromShape<float>(cellShape) : null;

        ForwardWorkspace workspace = RentCachedWorkspace();
        ForwardInto(
            input, h0 is null ? default : h0.AsReadOnlyTensorSpan(), c0 is null ? default : c0.AsReadOnlyTensorSpan(),
            output, hidden, cell is null ? default : cell.AsTensorSpan(), workspace);
        ReturnCachedWorkspace(workspace);
        return (output, hidden, cell);
    }

    /// <summary>The scratch the last convenience call left, or a new one when another call has it (or none is left).</summary>
    private protected ForwardWorkspace RentCachedWorkspace() => Interlocked.Exchange(ref _cachedWorkspace, null) ?? new ForwardWorkspace();

    /// <summary>Keeps <paramref name="workspace"/> for the next convenience call, within <see cref="CachedWorkspaceLimit"/>
    /// (a long sequence's buffers are not worth holding).</summary>
    private protected void ReturnCachedWorkspace(ForwardWorkspace workspace)
    {
        if (workspace.KeepWithin(CachedWorkspaceLimit))
        {
            Volatile.Write(ref _cachedWorkspace, workspace);
        }
    }

    /// <summary>L, N and whether the input is batched, from its shape. L must be positive (PyTorch raises for L = 0); N may
    /// be 0, as in PyTorch, which returns outputs and states with no elements.</summary>
    private (int Steps, int Batch, bool Batched) ReadInputShape(ReadOnlySpan<nint> shape)
    {
        LayerConfig config = Config;
        string layout = config.BatchFirst ? "(N, L, H_in)" : "(L, N, H_in)";
        if (shape.Length is not (2 or 3))
        {
            throw new ArgumentException(
                $"Expected a 3-D batched input {layout} or a 2-D unbatched input (L, H_in) with H_in = {config.InputSize}, " +
                $"got a {shape.Length}-D tensor of shape {TensorData.FormatShape(shape)}.", "input");
        }

        if (shape[^1] != config.InputSize)
        {
            throw new ArgumentException(
                $"input.size(-1) must be equal to input_size: expected {config.InputSize}, got {shape[^1]} (input shape {TensorData.FormatShape(shape)}).",
                "input");
        }

        bool batched = shape.Length == 3;
        nint steps = batched && config.BatchFirst ? shape[1] : shape[0];
        nint batch = !batched ? 1 : config.BatchFirst ? shape[0] : shape[1];
        if (steps == 0)
        {
            throw new ArgumentException($"Expected a non-empty sequence (L > 0), got input shape {TensorData.FormatShape(shape)}.", "input");
        }

        // With N = 0 the input has no elements whatever L is, so the size check below cannot bound L.
        if (steps > Array.MaxLength || batch > Array.MaxLength)
        {
            throw new ArgumentException(
                $"Input shape {TensorData.FormatShape(shape)} has more than {Array.MaxLength} steps or sequences; split the sequence or the batch.", "input");
        }

        config.CheckCallSize((long)steps * batch, batch, "input", shape);
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
        StateShape(batched, batch, features, stackalloc nint[3]).ToArray();

    /// <summary>h or c of a call: (D*layers, N, features), or (D*layers, features) unbatched; written into <paramref name="shape"/>.</summary>
    private Span<nint> StateShape(bool batched, int batch, int features, Span<nint> shape)
    {
        shape[0] = Config.StateCount;
        shape[1] = batched ? batch : features;
        shape[2] = features;
        return shape[..(batched ? 3 : 2)];
    }

    /// <summary>The output of a call in the caller's layout, with D*H_out features; written into <paramref name="shape"/>.</summary>
    private Span<nint> OutputShape(bool batched, int steps, int batch, Span<nint> shape)
    {
        if (!batched)
        {
            shape[0] = steps;
            shape[1] = Config.OutputWidth;
            return shape[..2];
        }

        shape[0] = Config.BatchFirst ? batch : steps;
        shape[1] = Config.BatchFirst ? steps : batch;
        shape[2] = Config.OutputWidth;
        return shape;
    }
}
