using System.Collections.ObjectModel;
using System.Numerics.Tensors;
using Recurrent.Execution;

namespace Recurrent;

/// <summary>
/// A batch of variable-length sequences packed without padding: PyTorch's <c>torch.nn.utils.rnn.PackedSequence</c>.
/// Build one with <see cref="RnnUtils.PackPaddedSequence"/> or <see cref="RnnUtils.PackSequence"/>; the layers take and
/// return it.
/// </summary>
/// <remarks>
/// <see cref="Data"/> is time-major: the rows of step t are the <c>BatchSizes[t]</c> sequences still running at t,
/// longest first, so its shape is (Σ lengths, features...) and <see cref="BatchSizes"/> never increases. Sequence i in
/// this sorted order is sequence <c>SortedIndices[i]</c> of the caller's batch; <see cref="UnsortedIndices"/> is the
/// inverse permutation. Both are null when the batch was packed already sorted (<c>enforceSorted: true</c>).
/// </remarks>
public sealed class PackedSequence
{
    private readonly int[] _batchSizes;
    private readonly int[]? _sortedIndices;
    private readonly int[]? _unsortedIndices;

    /// <summary>Wraps packed data; checks it is consistent. Arrays are copied.</summary>
    /// <param name="data">(Σ lengths, features...), time-major as described on the type.</param>
    /// <param name="batchSizes">Sequences running at each step: positive, non-increasing, summing to data's first dimension.</param>
    /// <param name="sortedIndices">Caller's index of each sorted sequence, a permutation of [0, BatchSizes[0]); null if the batch was sorted.</param>
    /// <param name="unsortedIndices">The inverse of <paramref name="sortedIndices"/>; computed when null.</param>
    /// <exception cref="ArgumentException">The pieces do not fit together; the message says how.</exception>
    public PackedSequence(Tensor<float> data, IReadOnlyList<int> batchSizes, IReadOnlyList<int>? sortedIndices = null, IReadOnlyList<int>? unsortedIndices = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(batchSizes);
        _batchSizes = [.. batchSizes];
        CheckBatchSizes(_batchSizes, data);
        if (sortedIndices is null)
        {
            if (unsortedIndices is not null)
            {
                throw new ArgumentException("unsortedIndices is given without sortedIndices; give both or only sortedIndices.", nameof(unsortedIndices));
            }
        }
        else
        {
            _sortedIndices = [.. sortedIndices];
            CheckPermutation(_sortedIndices, _batchSizes[0], nameof(sortedIndices));
            _unsortedIndices = Invert(_sortedIndices);
            if (unsortedIndices is not null && !unsortedIndices.SequenceEqual(_unsortedIndices))
            {
                throw new ArgumentException("unsortedIndices is not the inverse permutation of sortedIndices.", nameof(unsortedIndices));
            }
        }

        Data = data;
    }

    /// <summary>(Σ lengths, features...): the rows of every step, longest sequences first within a step.</summary>
    public Tensor<float> Data { get; }

    /// <summary>Sequences running at each step; its length is the longest sequence's length.</summary>
    public IReadOnlyList<int> BatchSizes => Array.AsReadOnly(_batchSizes);

    /// <summary>Caller's batch index of each sequence in sorted order, or null when the batch came sorted.</summary>
    public IReadOnlyList<int>? SortedIndices => _sortedIndices is null ? null : Array.AsReadOnly(_sortedIndices);

    /// <summary>Sorted position of each of the caller's sequences (inverse of <see cref="SortedIndices"/>), or null.</summary>
    public IReadOnlyList<int>? UnsortedIndices => _unsortedIndices is null ? null : Array.AsReadOnly(_unsortedIndices);

    /// <summary>The number of sequences.</summary>
    public int BatchSize => _batchSizes[0];

    /// <summary>The longest sequence's length.</summary>
    public int MaxLength => _batchSizes.Length;

    internal int[] BatchSizeArray => _batchSizes;

    internal int[]? SortedIndexArray => _sortedIndices;

    /// <summary>The caller's batch index of sorted sequence <paramref name="sorted"/>.</summary>
    internal int OriginalIndex(int sorted) => _sortedIndices is null ? sorted : _sortedIndices[sorted];

    /// <summary>Length of sorted sequence <paramref name="sorted"/>: the steps whose batch size exceeds its index.</summary>
    internal int SortedLength(int sorted)
    {
        int length = 0;
        while (length < _batchSizes.Length && _batchSizes[length] > sorted)
        {
            length++;
        }

        return length;
    }

    private static void CheckBatchSizes(int[] batchSizes, Tensor<float> data)
    {
        if (batchSizes.Length == 0)
        {
            throw new ArgumentException("batchSizes is empty: a packed sequence has at least one step.", nameof(batchSizes));
        }

        long total = 0;
        for (int t = 0; t < batchSizes.Length; t++)
        {
            if (batchSizes[t] <= 0)
            {
                throw new ArgumentException($"batchSizes[{t}] = {batchSizes[t]}: every step must hold at least one sequence.", nameof(batchSizes));
            }

            if (t > 0 && batchSizes[t] > batchSizes[t - 1])
            {
                throw new ArgumentException(
                    $"batchSizes must not increase: batchSizes[{t}] = {batchSizes[t]} follows batchSizes[{t - 1}] = {batchSizes[t - 1]}.", nameof(batchSizes));
            }

            total += batchSizes[t];
        }

        if (data.Rank < 1 || data.Lengths[0] != total)
        {
            throw new ArgumentException(
                $"data: expected a first dimension of Σ batchSizes = {total}, got shape {TensorData.FormatShape(data.Lengths)}.", nameof(data));
        }
    }

    private static void CheckPermutation(int[] indices, int batch, string name)
    {
        var seen = new bool[batch];
        if (indices.Length != batch)
        {
            throw new ArgumentException($"{name}: expected a permutation of the {batch} sequences, got {indices.Length} indices.", name);
        }

        foreach (int index in indices)
        {
            if ((uint)index >= (uint)batch || seen[index])
            {
                throw new ArgumentException($"{name}: expected a permutation of [0, {batch}), got [{string.Join(", ", indices)}].", name);
            }

            seen[index] = true;
        }
    }

    private static int[] Invert(int[] permutation)
    {
        var inverse = new int[permutation.Length];
        for (int i = 0; i < permutation.Length; i++)
        {
            inverse[permutation[i]] = i;
        }

        return inverse;
    }
}
