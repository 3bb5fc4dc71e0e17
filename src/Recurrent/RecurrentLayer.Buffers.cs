using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>Forward into caller-provided buffers with a reusable <see cref="ForwardWorkspace"/>: no allocation in steady state.</summary>
public abstract partial class RecurrentLayer
{
    /// <summary>
    /// Checks every shape and overlap, then runs the stack from h0 (and c0), or zeros when they are absent, writing
    /// output, h_n and (LSTM) c_n. All checks come before any write: a failed call changes nothing.
    /// </summary>
    /// <remarks>
    /// A state is absent when it is <c>default</c> (rank 0, as <see cref="Tensor{T}.Empty"/> too). Any other span is a state
    /// and must have the state's shape, even one with no elements: (D*layers, 0, H_out) is h0 of a batch of no
    /// sequences, and (1, 0, 6) for a batch of 2 is a wrong h0, not a missing one.
    /// </remarks>
    private protected void ForwardInto(
        ReadOnlyTensorSpan<float> input, ReadOnlyTensorSpan<float> h0, ReadOnlyTensorSpan<float> c0,
        TensorSpan<float> output, TensorSpan<float> hn, TensorSpan<float> cn, ForwardWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        LayerConfig config = Config;
        bool isLstm = config.CellType == CellType.Lstm;
        var (steps, batch, batched) = ReadInputShape(input.Lengths);
        string inputKind = batched ? "3-D (batched)" : "2-D (unbatched)";
        // Shapes on the stack: this overload allocates nothing.
        ReadOnlySpan<nint> hiddenShape = StateShape(batched, batch, config.OutputSize, stackalloc nint[3]);
        ReadOnlySpan<nint> cellShape = StateShape(batched, batch, config.HiddenSize, stackalloc nint[3]);
        bool hasH0 = h0.Rank != 0, hasC0 = c0.Rank != 0;
        if (isLstm && hasH0 != hasC0)
        {
            throw new ArgumentException(
                $"LSTM takes h0 and c0 together or neither (both default for zeros); got {(hasH0 ? "h0 without c0" : "c0 without h0")}.",
                hasH0 ? nameof(c0) : nameof(h0));
        }

        if (hasH0)
        {
            StateShapeCheck.Check(h0.Lengths, nameof(h0), hiddenShape, inputKind);
        }

        if (hasC0)
        {
            StateShapeCheck.Check(c0.Lengths, nameof(c0), cellShape, inputKind);
        }

        ReadOnlySpan<nint> outputShape = OutputShape(batched, steps, batch, stackalloc nint[3]);
        Span<float> outputData = DenseDestination(output, nameof(output), outputShape);
        Span<float> hiddenData = DenseDestination(hn, nameof(hn), hiddenShape);
        Span<float> cellData = isLstm ? DenseDestination(cn, nameof(cn), cellShape) : default;

        // Non-dense sources are copied (the allocation-free promise is for dense ones).
        ReadOnlySpan<float> inputData = Dense(input);
        ReadOnlySpan<float> initialHidden = hasH0 ? Dense(h0) : default;
        ReadOnlySpan<float> initialCell = hasC0 ? Dense(c0) : default;

        // Outputs must not overlap any other buffer, except h_n (c_n) exactly on h0 (c0): the runner reads each layer's
        // initial state before it writes that layer's final state.
        ThrowIfOverlaps(outputData, nameof(output), inputData, initialHidden, initialCell);
        ThrowIfOverlaps(outputData, nameof(output), hiddenData, cellData, default);
        ThrowIfOverlaps(hiddenData, nameof(hn), inputData, SameOrNone(initialHidden, hiddenData), initialCell);
        ThrowIfOverlaps(hiddenData, nameof(hn), cellData, default, default);
        ThrowIfOverlaps(cellData, nameof(cn), inputData, initialHidden, SameOrNone(initialCell, cellData));

        if (batch == 0)
        {
            return; // a batch of no sequences: every destination has no elements, as in PyTorch
        }

        workspace.Acquire();
        try
        {
            var schedule = new StepSchedule(steps, batch);
            Workspace runner = workspace.Runner(config, schedule, Parallelism);

            // Batch-first (N, L, F) and seq-first (L, N, F) share one memory order when L or N is 1.
            bool swap = batched && config.BatchFirst && steps > 1 && batch > 1;
            Span<float> runOutput = outputData;
            if (swap)
            {
                var (inputStaging, outputStaging) = workspace.Staging(inputData.Length, outputData.Length);
                SequenceLayout.SwapLeadingAxes(inputData, inputStaging, batch, steps, config.InputSize);
                inputData = inputStaging.AsSpan(0, inputData.Length);
                runOutput = outputStaging.AsSpan(0, outputData.Length);
            }

            SequenceRunner.Run(config, Parameters, schedule, inputData, initialHidden, initialCell, runOutput, hiddenData, cellData, runner, DropoutRandomForCall());
            if (swap)
            {
                SequenceLayout.SwapLeadingAxes(runOutput, outputData, steps, batch, config.OutputWidth);
            }
        }
        finally
        {
            workspace.Release();
        }
    }

    /// <summary>The elements of a dense destination of exactly <paramref name="expected"/> shape, else throws.</summary>
    private static Span<float> DenseDestination(TensorSpan<float> buffer, string name, ReadOnlySpan<nint> expected)
    {
        if (!TensorData.ShapeEquals(buffer.Lengths, expected) || !buffer.IsDense)
        {
            throw new ArgumentException(
                $"Expected {name} as a dense buffer of shape {TensorData.FormatShape(expected)}, " +
                $"got {TensorData.DescribeBuffer(buffer.Lengths, buffer.IsDense)}.", name);
        }

        return MemoryMarshal.CreateSpan(ref buffer.GetPinnableReference(), checked((int)buffer.FlattenedLength));
    }

    private static ReadOnlySpan<float> Dense(ReadOnlyTensorSpan<float> source)
    {
        if (source.IsDense)
        {
            return MemoryMarshal.CreateReadOnlySpan(in source.GetPinnableReference(), checked((int)source.FlattenedLength));
        }

        var copy = new float[source.FlattenedLength];
        source.FlattenTo(copy);
        return copy;
    }

    /// <summary><paramref name="source"/>, or empty when it is exactly <paramref name="destination"/> (in place is allowed).</summary>
    private static ReadOnlySpan<float> SameOrNone(ReadOnlySpan<float> source, Span<float> destination) =>
        !source.IsEmpty && source == destination ? default : source;

    private static void ThrowIfOverlaps(Span<float> destination, string name, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c)
    {
        if (destination.Overlaps(a) || destination.Overlaps(b) || destination.Overlaps(c))
        {
            throw new ArgumentException(
                $"{name} overlaps another argument; give it a buffer of its own (only hn = h0 and cn = c0, exactly, may share memory).",
                name);
        }
    }
}
