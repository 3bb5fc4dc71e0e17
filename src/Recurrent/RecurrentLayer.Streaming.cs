using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>Step-by-step use: a caller-owned state advanced one chunk of steps at a time.</summary>
public abstract partial class RecurrentLayer
{
    /// <summary>Creates a zero state for streaming <paramref name="batchSize"/> sequences side by side (3-D chunks).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    /// <exception cref="NotSupportedException">The layer is bidirectional.</exception>
    public RecurrentState CreateState(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ThrowIfBidirectional();
        return new RecurrentState(Config, batchSize, batched: true);
    }

    /// <summary>Creates a zero state for streaming one unbatched sequence ((L, H_in) chunks).</summary>
    /// <exception cref="NotSupportedException">The layer is bidirectional.</exception>
    public RecurrentState CreateState()
    {
        ThrowIfBidirectional();
        return new RecurrentState(Config, 1, batched: false);
    }

    /// <summary>
    /// Advances <paramref name="state"/> over the steps of <paramref name="input"/> and returns their output. Running a
    /// sequence chunk by chunk, with any chunk sizes, gives the same output and final state as one Forward over it
    /// (bit for bit; in training mode with dropout, each call draws its own masks).
    /// </summary>
    /// <param name="input">A chunk: (L, N, H_in), (N, L, H_in) when batch-first, or (L, H_in) for an unbatched state.</param>
    /// <param name="state">From <see cref="CreateState(int)"/> (batched input), or <see cref="CreateState()"/> (unbatched); updated in place.</param>
    /// <returns>Output (L, N, H_out) in the input's layout.</returns>
    /// <exception cref="ArgumentException">The chunk's shape does not fit the state or the layer, or the state is shaped
    /// for another layer (a state of a layer with the same kind, layers and hidden sizes is taken, as PyTorch takes any hx
    /// of the right shape).</exception>
    /// <exception cref="InvalidOperationException">Another call is using <paramref name="state"/>.</exception>
    public Tensor<float> Step(Tensor<float> input, RecurrentState state)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(state);
        var (steps, batch) = CheckChunk(input.Lengths, state);
        var output = new float[steps * batch * Config.OutputSize];
        nint[] shape = OutputShape(input.Lengths, state.IsBatched);
        StepCore(TensorData.Read(input), steps, state, output);
        return Tensor.Create(output, shape);
    }

    /// <summary>
    /// Advances <paramref name="state"/> over the steps of <paramref name="input"/>, writing their output into
    /// <paramref name="output"/>. Allocates nothing once the state has seen a chunk this long.
    /// </summary>
    /// <param name="input">A chunk as for <see cref="Step(Tensor{float}, RecurrentState)"/>.</param>
    /// <param name="state">Updated in place.</param>
    /// <param name="output">Dense, shaped (L, N, H_out) in the input's layout ((L, H_out) unbatched).</param>
    /// <exception cref="ArgumentException">A shape does not fit, or <paramref name="output"/> is not dense. Nothing is changed.</exception>
    /// <exception cref="InvalidOperationException">Another call is using <paramref name="state"/>.</exception>
    /// <remarks><paramref name="output"/> must not overlap <paramref name="input"/> or the state (checked).</remarks>
    public void Step(ReadOnlyTensorSpan<float> input, RecurrentState state, TensorSpan<float> output)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (steps, batch) = CheckChunk(input.Lengths, state);
        if (!OutputFits(input.Lengths, output.Lengths, state.IsBatched) || !output.IsDense)
        {
            throw new ArgumentException(
                $"Expected a dense output of shape {TensorData.FormatShape(OutputShape(input.Lengths, state.IsBatched))}, " +
                $"got {TensorData.DescribeBuffer(output.Lengths, output.IsDense)}.",
                nameof(output));
        }

        // A dense chunk is read in place; any other is copied (the allocation-free promise is for dense chunks).
        ReadOnlySpan<float> source;
        if (input.IsDense)
        {
            source = MemoryMarshal.CreateReadOnlySpan(in input.GetPinnableReference(), checked((int)input.FlattenedLength));
        }
        else
        {
            var copy = new float[input.FlattenedLength];
            input.FlattenTo(copy);
            source = copy;
        }

        Span<float> destination = MemoryMarshal.CreateSpan(ref output.GetPinnableReference(), steps * batch * Config.OutputSize);
        if (destination.Overlaps(state.HiddenData) || destination.Overlaps(state.CellData) || destination.Overlaps(source))
        {
            throw new ArgumentException("output overlaps the input or the state; give it a buffer of its own.", nameof(output));
        }

        StepCore(source, steps, state, destination);
    }

    /// <summary>Runs a checked chunk with the state held for this call (a second concurrent call on it throws).</summary>
    private void StepCore(ReadOnlySpan<float> input, int steps, RecurrentState state, Span<float> output)
    {
        state.Acquire();
        try
        {
            StepHeld(input, steps, state, output);
        }
        finally
        {
            state.Release();
        }
    }

    private void StepHeld(ReadOnlySpan<float> input, int steps, RecurrentState state, Span<float> output)
    {
        LayerConfig config = Config;
        int batch = state.BatchSize;

        // Batch-first (N, L, F) and seq-first (L, N, F) share one memory order when L or N is 1.
        bool swap = state.IsBatched && config.BatchFirst && steps > 1 && batch > 1;
        if (swap)
        {
            int inputLength = steps * batch * config.InputSize, outputLength = steps * batch * config.OutputSize;
            if (state.InputStaging.Length < inputLength)
            {
                state.InputStaging = new float[inputLength];
            }

            if (state.OutputStaging.Length < outputLength)
            {
                state.OutputStaging = new float[outputLength];
            }

            SequenceLayout.SwapLeadingAxes(input, state.InputStaging, batch, steps, config.InputSize);
            input = state.InputStaging.AsSpan(0, inputLength);
        }

        var schedule = new StepSchedule(steps, batch);
        if (state.Workspace is null || !state.Workspace.Fits(config, schedule, Parallelism))
        {
            state.Workspace = new Workspace(config, schedule, Parallelism);
        }

        Span<float> runOutput = swap ? state.OutputStaging.AsSpan(0, output.Length) : output;

        // The runner reads each layer's initial state before it writes that layer's final state: in place is safe.
        SequenceRunner.Run(config, Parameters, schedule, input, state.HiddenData, state.CellData, runOutput, state.HiddenData, state.CellData, state.Workspace, DropoutRandomForCall());
        if (swap)
        {
            SequenceLayout.SwapLeadingAxes(runOutput, output, steps, batch, config.OutputSize);
        }
    }

    private (int Steps, int Batch) CheckChunk(ReadOnlySpan<nint> shape, RecurrentState state)
    {
        LayerConfig config = Config;
        if (config.Directions != 1)
        {
            throw new ArgumentException(
                "Step streams unidirectional layers only: this layer is bidirectional, and its reverse direction needs the whole sequence.", nameof(state));
        }

        LayerConfig made = state.Config;
        if (made.CellType != config.CellType || made.NumLayers != config.NumLayers || made.OutputSize != config.OutputSize || made.HiddenSize != config.HiddenSize)
        {
            throw new ArgumentException(
                $"state was created by another layer: it holds the state of {DescribeState(made, state.BatchSize, state.IsBatched)}, " +
                $"this layer's is {DescribeState(config, state.BatchSize, state.IsBatched)}; create it with this layer's CreateState.",
                nameof(state));
        }

        int rank = state.IsBatched ? 3 : 2;
        int steps = 0, batch = 0;
        if (shape.Length == rank)
        {
            steps = (int)Math.Min(int.MaxValue, state.IsBatched && config.BatchFirst ? shape[1] : shape[0]);
            batch = !state.IsBatched ? 1 : (int)Math.Min(int.MaxValue, config.BatchFirst ? shape[0] : shape[1]);
        }

        if (shape.Length != rank || shape[^1] != config.InputSize || batch != state.BatchSize || steps == 0)
        {
            string expected = !state.IsBatched ? $"(L, {config.InputSize}) with L ≥ 1"
                : config.BatchFirst ? $"(N, L, {config.InputSize}) with N = {state.BatchSize} (the state's batch) and L ≥ 1"
                : $"(L, N, {config.InputSize}) with N = {state.BatchSize} (the state's batch) and L ≥ 1";
            throw new ArgumentException($"Expected a chunk {expected}, got shape {TensorData.FormatShape(shape)}.", "input");
        }

        config.CheckCallSize((long)steps * batch, batch, "input", shape);
        return (steps, batch);
    }

    /// <summary>"an LSTM: h (layers, N, H_out), c (layers, N, H)" for error messages (without N when unbatched).</summary>
    private static string DescribeState(LayerConfig config, int batch, bool batched)
    {
        string Shape(int features) => batched ? $"({config.NumLayers}, {batch}, {features})" : $"({config.NumLayers}, {features})";
        return config.CellType switch
        {
            CellType.Lstm => $"an LSTM: h {Shape(config.OutputSize)}, c {Shape(config.HiddenSize)}",
            CellType.Gru => $"a GRU: h {Shape(config.OutputSize)}",
            _ => $"an RNN: h {Shape(config.OutputSize)}",
        };
    }

    /// <summary>Whether the output shape is the input's with H_out features (checked without allocating).</summary>
    private bool OutputFits(ReadOnlySpan<nint> inputShape, ReadOnlySpan<nint> outputShape, bool batched) =>
        outputShape.Length == inputShape.Length && outputShape[^1] == Config.OutputSize &&
        outputShape[0] == inputShape[0] && (!batched || outputShape[1] == inputShape[1]);

    private nint[] OutputShape(ReadOnlySpan<nint> inputShape, bool batched) =>
        batched ? [inputShape[0], inputShape[1], Config.OutputSize] : [inputShape[0], Config.OutputSize];

    private void ThrowIfBidirectional()
    {
        if (Config.Directions == 2)
        {
            throw new NotSupportedException(
                "A bidirectional layer cannot run step by step: its reverse direction starts from the end of the sequence. " +
                "Run Forward over the whole sequence instead.");
        }
    }
}
