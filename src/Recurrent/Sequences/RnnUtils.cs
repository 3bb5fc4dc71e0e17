using System.Numerics.Tensors;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>
/// PyTorch's <c>torch.nn.utils.rnn</c>: packing padded or listed variable-length sequences into a
/// <see cref="PackedSequence"/> and back. Sequences may have any trailing shape: (length, features...).
/// </summary>
public static class RnnUtils
{
    /// <summary>
    /// <c>pack_padded_sequence</c>: packs a padded batch, reading only the first <paramref name="lengths"/>[n] steps of
    /// sequence n (padding is never read).
    /// </summary>
    /// <param name="input">(L, N, features...), or (N, L, features...) when <paramref name="batchFirst"/>.</param>
    /// <param name="lengths">One length per sequence, each in [1, L].</param>
    /// <param name="batchFirst">Whether <paramref name="input"/> is batch-first.</param>
    /// <param name="enforceSorted">When true, lengths must already be in decreasing order and no permutation is recorded;
    /// when false the batch is sorted by decreasing length (ties keep their order) and the permutation is recorded.</param>
    /// <exception cref="ArgumentException"><paramref name="input"/> has fewer than 2 dimensions, no steps, no sequences,
    /// no features, or more elements than an array holds; a length is not positive or exceeds L, the count differs from
    /// N, or lengths are unsorted with <paramref name="enforceSorted"/>.</exception>
    public static PackedSequence PackPaddedSequence(Tensor<float> input, ReadOnlySpan<int> lengths, bool batchFirst = false, bool enforceSorted = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        ReadOnlySpan<nint> shape = input.Lengths;
        if (shape.Length < 2)
        {
            throw new ArgumentException(
                $"Expected a padded batch of at least 2 dimensions ({(batchFirst ? "N, L" : "L, N")}, features...), got shape {TensorData.FormatShape(shape)}.", nameof(input));
        }

        if (shape[0] > Array.MaxLength || shape[1] > Array.MaxLength)
        {
            throw new ArgumentException($"Expected at most {Array.MaxLength} steps and sequences, got input shape {TensorData.FormatShape(shape)}.", nameof(input));
        }

        int steps = (int)(batchFirst ? shape[1] : shape[0]);
        int batch = (int)(batchFirst ? shape[0] : shape[1]);
        if (steps == 0 || batch == 0)
        {
            throw new ArgumentException(
                $"Expected at least one step and one sequence, got input shape {TensorData.FormatShape(shape)}.", nameof(input));
        }

        // PyTorch refuses steps without features before it looks at the lengths ("Cannot pack empty tensors.").
        int features = FeatureCount(shape[2..], nameof(input));
        if (features == 0)
        {
            throw new ArgumentException(
                $"Expected at least one feature per step, got input shape {TensorData.FormatShape(shape)} (PyTorch: \"Cannot pack empty tensors\").", nameof(input));
        }

        CheckLengths(lengths, batch, steps, shape, enforceSorted);

        int[] order = SortedOrder(lengths, enforceSorted);
        int[] batchSizes = new int[lengths[order[0]]];
        foreach (int length in lengths)
        {
            for (int t = 0; t < length; t++)
            {
                batchSizes[t]++;
            }
        }

        if (input.FlattenedLength > Array.MaxLength)
        {
            throw new ArgumentException(
                $"The padded batch {TensorData.FormatShape(shape)} holds {input.FlattenedLength} elements, more than the {Array.MaxLength} an array can; pack it in smaller batches.", nameof(input));
        }

        ReadOnlySpan<float> source = TensorData.Read(input);
        var data = new float[checked(batchSizes.Sum() * features)];
        int row = 0;
        for (int t = 0; t < batchSizes.Length; t++)
        {
            for (int i = 0; i < batchSizes[t]; i++, row++)
            {
                int n = order[i];
                int sourceRow = batchFirst ? n * steps + t : t * batch + n;
                source.Slice(sourceRow * features, features).CopyTo(data.AsSpan(row * features, features));
            }
        }

        nint[] dataShape = [row, .. shape[2..]];
        return new PackedSequence(Tensor.Create(data, dataShape), batchSizes, enforceSorted ? null : order);
    }

    /// <summary>
    /// <c>pad_packed_sequence</c>: unpacks to a padded batch in the caller's original order.
    /// </summary>
    /// <param name="sequence">The packed batch.</param>
    /// <param name="batchFirst">Return (N, T, features...) instead of (T, N, features...).</param>
    /// <param name="paddingValue">Value of the positions past each sequence's length.</param>
    /// <param name="totalLength">T; null for the longest sequence's length. Must be at least that length.</param>
    /// <returns>The padded batch and each sequence's length, in the caller's original order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalLength"/> is shorter than the longest sequence, or
    /// so long that the padded batch would not fit in an array.</exception>
    /// <exception cref="ArgumentException">The padded batch would not fit in an array.</exception>
    public static (Tensor<float> Padded, int[] Lengths) PadPackedSequence(PackedSequence sequence, bool batchFirst = false, float paddingValue = 0, int? totalLength = null)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        int maxLength = sequence.MaxLength;
        if (totalLength is int requested && requested < maxLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(totalLength), requested,
                $"Expected totalLength to be at least the length of the longest sequence ({maxLength}), got {requested}.");
        }

        int steps = totalLength ?? maxLength;
        int batch = sequence.BatchSize;
        ReadOnlySpan<nint> dataShape = sequence.Data.Lengths;
        int features = FeatureCount(dataShape[1..], nameof(sequence));
        nint[] shape = batchFirst ? [batch, steps, .. dataShape[1..]] : [steps, batch, .. dataShape[1..]];
        if ((long)steps * batch * features > Array.MaxLength)
        {
            string message = $"The padded batch {TensorData.FormatShape(shape)} would hold more than the {Array.MaxLength} elements an array can.";
            throw totalLength is int given
                ? new ArgumentOutOfRangeException(nameof(totalLength), given, message)
                : new ArgumentException(message, nameof(sequence));
        }

        ReadOnlySpan<float> data = TensorData.Read(sequence.Data);
        var padded = new float[steps * batch * features];
        padded.AsSpan().Fill(paddingValue);
        int[] batchSizes = sequence.BatchSizeArray;
        int row = 0;
        for (int t = 0; t < batchSizes.Length; t++)
        {
            for (int i = 0; i < batchSizes[t]; i++, row++)
            {
                int n = sequence.OriginalIndex(i);
                int destinationRow = batchFirst ? n * steps + t : t * batch + n;
                data.Slice(row * features, features).CopyTo(padded.AsSpan(destinationRow * features, features));
            }
        }

        var lengths = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            lengths[sequence.OriginalIndex(i)] = sequence.SortedLength(i);
        }

        return (Tensor.Create(padded, shape), lengths);
    }

    /// <summary><c>pad_sequence</c>: stacks sequences of shape (length_i, features...) into one padded batch.</summary>
    /// <param name="sequences">At least one sequence; all with the same trailing shape.</param>
    /// <param name="batchFirst">Return (N, L_max, features...) instead of (L_max, N, features...).</param>
    /// <param name="paddingValue">Value of the positions past each sequence's length.</param>
    /// <exception cref="ArgumentException">The list is empty, a sequence is null or 0-D, trailing shapes differ, or the padded
    /// batch would not fit in an array.</exception>
    public static Tensor<float> PadSequence(IReadOnlyList<Tensor<float>> sequences, bool batchFirst = false, float paddingValue = 0)
    {
        nint[] trailing = CheckSequences(sequences);
        int batch = sequences.Count;
        int steps = sequences.Max(s => (int)s.Lengths[0]); // at most Array.MaxLength (CheckSequences)
        int features = FeatureCount(trailing, nameof(sequences));
        nint[] shape = batchFirst ? [batch, steps, .. trailing] : [steps, batch, .. trailing];
        if ((long)steps * batch * features > Array.MaxLength)
        {
            throw new ArgumentException(
                $"The padded batch {TensorData.FormatShape(shape)} would hold more than the {Array.MaxLength} elements an array can.", nameof(sequences));
        }

        var padded = new float[steps * batch * features];
        padded.AsSpan().Fill(paddingValue);
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> source = TensorData.Read(sequences[n]);
            for (int t = 0; t < sequences[n].Lengths[0]; t++)
            {
                int destinationRow = batchFirst ? n * steps + t : t * batch + n;
                source.Slice(t * features, features).CopyTo(padded.AsSpan(destinationRow * features, features));
            }
        }

        return Tensor.Create(padded, shape);
    }

    /// <summary><c>pack_sequence</c>: packs a list of sequences of shape (length_i, features...), each length at least 1.</summary>
    /// <param name="sequences">The sequences, in the caller's order.</param>
    /// <param name="enforceSorted">As in <see cref="PackPaddedSequence"/>: when true the lengths must be decreasing.</param>
    /// <exception cref="ArgumentException">As for <see cref="PadSequence"/>; the sequences have no features; a sequence
    /// has no steps; or
    /// <paramref name="enforceSorted"/> and a sequence is longer than the one before it. Each names
    /// <paramref name="sequences"/>.</exception>
    public static PackedSequence PackSequence(IReadOnlyList<Tensor<float>> sequences, bool enforceSorted = true)
    {
        nint[] trailing = CheckSequences(sequences);
        if (FeatureCount(trailing, nameof(sequences)) == 0)
        {
            throw new ArgumentException(
                $"Expected at least one feature per step, got sequences[0] of shape {TensorData.FormatShape(sequences[0].Lengths)} (PyTorch: \"Cannot pack empty tensors\").", nameof(sequences));
        }

        int[] lengths = sequences.Select(s => (int)s.Lengths[0]).ToArray(); // at most Array.MaxLength (CheckSequences)

        // Checked here, against the caller's own list, so that PackPaddedSequence below never has a length to reject.
        for (int n = 0; n < lengths.Length; n++)
        {
            if (lengths[n] == 0)
            {
                throw new ArgumentException(
                    $"sequences[{n}] has shape {TensorData.FormatShape(sequences[n].Lengths)}: every sequence needs at least one step.", nameof(sequences));
            }

            if (enforceSorted && n > 0 && lengths[n] > lengths[n - 1])
            {
                throw new ArgumentException(
                    $"sequences must be sorted by decreasing length when enforceSorted is true, but sequences[{n}] (length {lengths[n]}) " +
                    $"follows sequences[{n - 1}] (length {lengths[n - 1]}). Pass enforceSorted: false to pack them unsorted.", nameof(sequences));
            }
        }

        return PackPaddedSequence(PadSequence(sequences), lengths, batchFirst: false, enforceSorted);
    }

    private static void CheckLengths(ReadOnlySpan<int> lengths, int batch, int steps, ReadOnlySpan<nint> shape, bool enforceSorted)
    {
        if (lengths.Length != batch)
        {
            throw new ArgumentException(
                $"Expected one length per sequence: {batch} for input shape {TensorData.FormatShape(shape)}, got {lengths.Length}.", nameof(lengths));
        }

        for (int n = 0; n < lengths.Length; n++)
        {
            if (lengths[n] <= 0 || lengths[n] > steps)
            {
                throw new ArgumentException(
                    $"lengths[{n}] = {lengths[n]}: every length must be in [1, {steps}] for input shape {TensorData.FormatShape(shape)}.", nameof(lengths));
            }

            if (enforceSorted && n > 0 && lengths[n] > lengths[n - 1])
            {
                throw new ArgumentException(
                    $"lengths must be sorted in decreasing order when enforceSorted is true, but lengths[{n}] = {lengths[n]} follows " +
                    $"lengths[{n - 1}] = {lengths[n - 1]}. Pass enforceSorted: false to pack unsorted lengths.", nameof(lengths));
            }
        }
    }

    /// <summary>
    /// Batch indices by decreasing length; equal lengths keep their order. PyTorch sorts with torch.sort, which is not
    /// stable: on the CPU (1.13, libstdc++'s std::sort) it keeps ties in order up to 16 sequences and not beyond, where
    /// its SortedIndices (and the packed rows' order) can differ from ours. Unpacked outputs and states never depend on it.
    /// </summary>
    private static int[] SortedOrder(ReadOnlySpan<int> lengths, bool alreadySorted)
    {
        int[] order = Enumerable.Range(0, lengths.Length).ToArray();
        if (!alreadySorted)
        {
            int[] copy = lengths.ToArray();
            order = [.. order.OrderByDescending(n => copy[n])];
        }

        return order;
    }

    private static nint[] CheckSequences(IReadOnlyList<Tensor<float>> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0)
        {
            throw new ArgumentException("Expected at least one sequence, got an empty list.", nameof(sequences));
        }

        nint[]? trailing = null;
        for (int n = 0; n < sequences.Count; n++)
        {
            Tensor<float> s = sequences[n] ?? throw new ArgumentException($"sequences[{n}] is null.", nameof(sequences));
            if (s.Rank < 1)
            {
                throw new ArgumentException($"sequences[{n}]: expected (length, features...), got a 0-D tensor.", nameof(sequences));
            }

            if (s.Lengths[0] > Array.MaxLength)
            {
                throw new ArgumentException(
                    $"sequences[{n}] has shape {TensorData.FormatShape(s.Lengths)}: more than {Array.MaxLength} steps.", nameof(sequences));
            }

            nint[] rest = s.Lengths[1..].ToArray();
            trailing ??= rest;
            if (!rest.AsSpan().SequenceEqual(trailing))
            {
                throw new ArgumentException(
                    $"sequences[{n}] has shape {TensorData.FormatShape(s.Lengths)}: expected trailing dimensions {TensorData.FormatShape(trailing)} like sequences[0].",
                    nameof(sequences));
            }
        }

        return trailing!;
    }

    /// <summary>The product of the trailing dimensions: the floats of one (step, sequence) row.</summary>
    private static int FeatureCount(ReadOnlySpan<nint> trailing, string paramName)
    {
        long count = 1;
        foreach (nint d in trailing)
        {
            count *= d;
            if (count > Array.MaxLength)
            {
                throw new ArgumentException(
                    $"Trailing dimensions {TensorData.FormatShape(trailing)} make rows of more than the {Array.MaxLength} elements an array can hold.", paramName);
            }
        }

        return (int)count;
    }
}
