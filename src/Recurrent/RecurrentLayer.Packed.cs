using System.Numerics.Tensors;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>Forward over variable-length batches: packed, or padded with lengths.</summary>
public abstract partial class RecurrentLayer
{
    /// <summary>
    /// Runs the stack over a packed batch, touching no padding. The caller's h0/c0 and the returned h_n/c_n are in the
    /// caller's original batch order (PyTorch permutes them by the sorted indices); each sequence's final state is the
    /// one after its own last step, and the reverse direction starts at each sequence's own last element.
    /// </summary>
    private protected (PackedSequence Output, Tensor<float> Hidden, Tensor<float>? Cell) ForwardPackedCore(PackedSequence input, Tensor<float>? h0, Tensor<float>? c0)
    {
        ArgumentNullException.ThrowIfNull(input);
        LayerConfig config = Config;
        ReadOnlySpan<nint> dataShape = input.Data.Lengths;
        if (dataShape.Length != 2 || dataShape[1] != config.InputSize)
        {
            throw new ArgumentException(
                $"Expected packed data of shape (Σ lengths, {config.InputSize}), got {TensorData.FormatShape(dataShape)}.", nameof(input));
        }

        int batch = input.BatchSize;
        config.CheckCallSize(dataShape[0], batch, nameof(input), dataShape);
        var (hiddenShape, cellShape) = CheckStates(h0, c0, batched: true, batch);
        int[]? sorted = input.SortedIndexArray;
        float[] initialHidden = h0 is null ? [] : Permute(TensorData.Read(h0), sorted, batch, config.OutputSize, toSorted: true);
        float[] initialCell = c0 is null ? [] : Permute(TensorData.Read(c0), sorted, batch, config.HiddenSize, toSorted: true);

        var schedule = new StepSchedule(input.BatchSizeArray);
        var output = new float[checked(schedule.TotalRows * config.OutputWidth)];
        var finalHidden = new float[config.StateCount * batch * config.OutputSize];
        bool isLstm = config.CellType == CellType.Lstm;
        float[] finalCell = isLstm ? new float[config.StateCount * batch * config.HiddenSize] : [];
        ForwardWorkspace workspace = RentCachedWorkspace();
        SequenceRunner.Run(
            config, Parameters, schedule, TensorData.Read(input.Data), initialHidden, initialCell, output, finalHidden, finalCell,
            workspace.Runner(config, schedule, Parallelism), DropoutRandomForCall());
        ReturnCachedWorkspace(workspace);

        var packedOutput = new PackedSequence(TensorData.Wrap(output, schedule.TotalRows, config.OutputWidth), input.BatchSizeArray, sorted);
        Tensor<float> hidden = TensorData.Wrap(Permute(finalHidden, sorted, batch, config.OutputSize, toSorted: false), hiddenShape);
        Tensor<float>? cell = isLstm ? TensorData.Wrap(Permute(finalCell, sorted, batch, config.HiddenSize, toSorted: false), cellShape) : null;
        return (packedOutput, hidden, cell);
    }

    /// <summary>
    /// A padded batch with lengths: packs it, runs <see cref="ForwardPackedCore"/>, and pads the output back to the
    /// input's length with zeros past each sequence's end. States in the caller's order.
    /// </summary>
    private protected (Tensor<float> Output, Tensor<float> Hidden, Tensor<float>? Cell) ForwardPaddedCore(
        Tensor<float> input, ReadOnlySpan<int> lengths, Tensor<float>? h0, Tensor<float>? c0)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (steps, _, batched) = ReadInputShape(input.Lengths);
        if (!batched)
        {
            throw new ArgumentException(
                $"Lengths apply to a batch: expected a 3-D input, got shape {TensorData.FormatShape(input.Lengths)}.", nameof(input));
        }

        PackedSequence packed = RnnUtils.PackPaddedSequence(input, lengths, Config.BatchFirst, enforceSorted: false);
        var (output, hidden, cell) = ForwardPackedCore(packed, h0, c0);
        var (padded, _) = RnnUtils.PadPackedSequence(output, Config.BatchFirst, paddingValue: 0, totalLength: steps);
        return (padded, hidden, cell);
    }

    /// <summary>
    /// Reorders the batch axis of states (D*layers, N, features): into sorted order (row i ← caller's row sorted[i]) or
    /// back (caller's row sorted[i] ← row i). A copy either way; unchanged order when <paramref name="sorted"/> is null.
    /// </summary>
    private static float[] Permute(ReadOnlySpan<float> states, int[]? sorted, int batch, int features, bool toSorted)
    {
        float[] result = states.ToArray();
        if (sorted is null)
        {
            return result;
        }

        int blocks = states.Length / (batch * features);
        for (int s = 0; s < blocks; s++)
        {
            for (int i = 0; i < batch; i++)
            {
                int sortedRow = (s * batch + i) * features;
                int callerRow = (s * batch + sorted[i]) * features;
                int from = toSorted ? callerRow : sortedRow;
                int to = toSorted ? sortedRow : callerRow;
                states.Slice(from, features).CopyTo(result.AsSpan(to, features));
            }
        }

        return result;
    }
}
