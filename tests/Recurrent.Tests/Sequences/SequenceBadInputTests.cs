using System.Numerics.Tensors;
using static Recurrent.Tests.ArgumentAssert;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Sequences;

/// <summary>Bad variable-length input gets an ArgumentException naming the argument and the values at fault.</summary>
public class SequenceBadInputTests
{
    [Fact]
    public void PackPadded_LengthNotPositive_Throws() =>
        Throws<ArgumentException>("lengths", () => RnnUtils.PackPaddedSequence(Randn(1, 5, 3, 2), [5, 0, 2], enforceSorted: false), "lengths[1] = 0", "[1, 5]");

    [Fact]
    public void PackPadded_LengthBeyondSequence_Throws() =>
        Throws<ArgumentException>("lengths", () => RnnUtils.PackPaddedSequence(Randn(1, 5, 3, 2), [6, 1, 1]), "lengths[0] = 6", "(5, 3, 2)");

    [Theory]
    [InlineData(new[] { 5, 4 })]
    [InlineData(new[] { 5, 4, 3, 2 })]
    public void PackPadded_LengthCountNotBatch_Throws(int[] lengths) =>
        Throws<ArgumentException>("lengths", () => RnnUtils.PackPaddedSequence(Randn(1, 5, 3, 2), lengths), "3", $"got {lengths.Length}");

    [Fact]
    public void PackPadded_UnsortedWithEnforceSorted_ThrowsAndSuggestsTheFlag() =>
        Throws<ArgumentException>("lengths", () => RnnUtils.PackPaddedSequence(Randn(1, 5, 3, 2), [3, 5, 1]), "decreasing", "lengths[1] = 5", "enforceSorted: false");

    [Fact]
    public void PadPacked_TotalLengthShorterThanLongest_Throws()
    {
        PackedSequence packed = RnnUtils.PackPaddedSequence(Randn(1, 5, 3, 2), [5, 4, 2]);
        Throws<ArgumentOutOfRangeException>("totalLength", () => RnnUtils.PadPackedSequence(packed, totalLength: 4), "longest sequence (5)", "got 4");
    }

    [Fact]
    public void PackedSequence_IncreasingBatchSizes_Throws() =>
        Throws<ArgumentException>("batchSizes", () => new PackedSequence(Zeros(7, 2), [3, 1, 3]), "must not increase", "batchSizes[2] = 3");

    [Fact]
    public void PackedSequence_BatchSizesNotMatchingData_Throws()
    {
        Throws<ArgumentException>("data", () => new PackedSequence(Zeros(6, 2), [3, 2]), "Σ batchSizes = 5", "(6, 2)");
        Throws<ArgumentException>("batchSizes", () => new PackedSequence(Zeros(0, 2), []), "empty");
        Throws<ArgumentException>("batchSizes", () => new PackedSequence(Zeros(3, 2), [3, 0]), "batchSizes[1] = 0");
    }

    [Fact]
    public void PackedSequence_IndicesNotAPermutation_Throws()
    {
        Throws<ArgumentException>("sortedIndices", () => new PackedSequence(Zeros(5, 2), [3, 2], [0, 0, 2]), "permutation");
        Throws<ArgumentException>("unsortedIndices", () => new PackedSequence(Zeros(5, 2), [3, 2], [2, 0, 1], [2, 0, 1]), "inverse");
    }

    [Fact]
    public void Layer_PackedDataWithWrongFeatures_ThrowsAndLeavesStateUnchanged()
    {
        var gru = new Gru(3, 4);
        PackedSequence packed = RnnUtils.PackSequence([Randn(1, 4, 2), Randn(2, 2, 2)]);
        Throws<ArgumentException>("input", () => gru.Forward(packed), "(Σ lengths, 3)", "(6, 2)");
        PackedSequence good = RnnUtils.PackSequence([Randn(1, 4, 3), Randn(2, 2, 3)]);
        Tensor<float> h0 = Randn(3, 1, 3, 4);
        Throws<ArgumentException>("h0", () => gru.Forward(good, h0), "(1, 2, 4)", "(1, 3, 4)");
    }

    [Fact]
    public void Layer_LengthsWithUnbatchedInput_Throws() =>
        Throws<ArgumentException>("input", () => new Rnn(3, 4).Forward(Randn(1, 5, 3), [5]), "3-D", "(5, 3)");

    [Fact]
    public void PadSequence_EmptyOrMismatchedList_Throws()
    {
        Throws<ArgumentException>("sequences", () => RnnUtils.PadSequence([]), "at least one");
        Throws<ArgumentException>("sequences", () => RnnUtils.PadSequence([Zeros(2, 3), Zeros(4, 2)]), "sequences[1]", "(4, 2)", "(3)");
    }

    [Fact]
    public void PackSequence_BadList_NamesTheSequences()
    {
        Throws<ArgumentException>("sequences", () => RnnUtils.PackSequence([Zeros(2, 4), Zeros(3, 4)]), "sequences[1] (length 3)", "sequences[0] (length 2)");
        Throws<ArgumentException>("sequences", () => RnnUtils.PackSequence([Zeros(3, 4), Zeros(0, 4)], enforceSorted: false), "sequences[1]", "(0, 4)");
        Throws<ArgumentException>("sequences", () => RnnUtils.PackSequence([Zeros(0, 4)]), "sequences[0]", "(0, 4)");
    }

    [Fact]
    public void Padding_LargerThanAnArray_ThrowsNamingTheArgument()
    {
        PackedSequence packed = RnnUtils.PackPaddedSequence(Randn(1, 5, 2, 4), [5, 3]);
        Throws<ArgumentOutOfRangeException>("totalLength", () => RnnUtils.PadPackedSequence(packed, totalLength: 300_000_000), "(300000000, 2, 4)");
        Throws<ArgumentOutOfRangeException>("totalLength", () => RnnUtils.PadPackedSequence(packed, totalLength: int.MaxValue), "more than");

        // One tensor listed 2200 times: a padded (1000000, 2200, 1) batch would be 2.2e9 floats.
        Tensor<float> longSequence = Zeros(1_000_000, 1);
        var many = Enumerable.Repeat(longSequence, 2200).ToList();
        Throws<ArgumentException>("sequences", () => RnnUtils.PadSequence(many), "(1000000, 2200, 1)");
        Throws<ArgumentException>("sequences", () => RnnUtils.PackSequence(many), "(1000000, 2200, 1)");

        // Sequences without features hold no elements whatever their length, so the length itself is bounded.
        long steps = 1L << 31;
        Throws<ArgumentException>("sequences", () => RnnUtils.PadSequence([Zeros((nint)steps, 0)]), "sequences[0]", "(2147483648, 0)");
        Throws<ArgumentException>("sequences", () => RnnUtils.PackSequence([Zeros((nint)steps, 0)]), "sequences[0]", "(2147483648, 0)");
        Throws<ArgumentException>("input", () => RnnUtils.PackPaddedSequence(Zeros((nint)steps, 1, 0), [1]), "(2147483648, 1, 0)");
    }

    [Fact]
    public void Packing_StepsWithoutFeatures_ThrowsAsPyTorchDoes()
    {
        // PyTorch 1.13: pack_padded_sequence(torch.zeros(2, 3, 0), [2, 1, 1]) raises "Cannot pack empty tensors."
        Throws<ArgumentException>("input", () => RnnUtils.PackPaddedSequence(Zeros(2, 3, 0), [2, 1, 1]), "at least one feature", "(2, 3, 0)");
        Throws<ArgumentException>("input", () => RnnUtils.PackPaddedSequence(Zeros(2, 3, 0), [3, 1, 1]), "at least one feature", "(2, 3, 0)"); // before the lengths, as PyTorch
        Throws<ArgumentException>("sequences", () => RnnUtils.PackSequence([Zeros(2, 0), Zeros(1, 0)]), "at least one feature", "(2, 0)");
    }

    [Fact]
    public void PackPadded_BroadcastViewBeyondAnArray_ThrowsNamingTheInput()
    {
        // A (50000, 50000, 2) view of two floats (strides 0, 0, 1): 5e9 elements, more than an array holds, which was an
        // OverflowException.
        var broadcast = Tensor.Create(new float[] { 1, 2 }, [50_000, 50_000, 2], [0, 0, 1]);
        Throws<ArgumentException>("input", () => RnnUtils.PackPaddedSequence(broadcast, [.. Enumerable.Repeat(1, 50_000)]), "5000000000", "(50000, 50000, 2)");
    }

    [Fact]
    public void PackPadded_EmptyBatchOrSequence_Throws()
    {
        Throws<ArgumentException>("input", () => RnnUtils.PackPaddedSequence(Zeros(5, 0, 2), []), "at least one", "(5, 0, 2)");
        Throws<ArgumentException>("input", () => RnnUtils.PackPaddedSequence(Zeros(0, 2, 2), [1, 1]), "at least one", "(0, 2, 2)");
    }
}
