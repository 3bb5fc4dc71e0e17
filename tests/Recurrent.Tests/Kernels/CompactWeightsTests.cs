using Recurrent.Kernels;
using Recurrent.Tests.PyTorch;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// Compact (bfloat16) packed weights: the rounding against PyTorch's, the interleaved layout, and every path's products
/// against the same path's float product of the rounded weights, bit for bit (the compact products run the float
/// kernels' chains, on values widened in registers by the compact row kernels or into slices, so nothing but the
/// rounding may differ). m = 1 runs every vector path's compact row kernels, m = 2 to 4 those of Vector512 and
/// Vector256, larger m the blocked loops over compact panels of those two.
/// </summary>
public class CompactWeightsTests
{
    private static readonly KernelPath[] AllPaths = [KernelPath.Scalar, KernelPath.Vector128, KernelPath.Vector256, KernelPath.Vector512];

    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (KernelPath path in AllPaths)
        {
            data.Add(path.ToString());
        }

        return data;
    }

    [Fact]
    public void Round_MatchesPyTorch()
    {
        StateDict file = SafeTensors.Load(Path.Combine(ReferenceCase.Directory, "bfloat16", "rounding.safetensors"), out _);
        float[] x = ToArray(file["x"]), expected = ToArray(file["expected"]);
        Assert.True(x.Length > 5000, $"only {x.Length} values");
        for (int i = 0; i < x.Length; i++)
        {
            float actual = BFloat16.RoundToFloat(x[i]);
            if (float.IsNaN(expected[i]))
            {
                Assert.True(float.IsNaN(actual), $"x = {x[i]:R}: expected NaN, got {actual:R}");
            }
            else
            {
                Assert.True(
                    BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual),
                    $"x = {x[i]:R} (0x{BitConverter.SingleToUInt32Bits(x[i]):X8}): expected {expected[i]:R}, got {actual:R}");
            }
        }
    }

    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1
    [InlineData(0x3F808000u, (ushort)0x3F80)] // half-way between 1 and the next: to even (down)
    [InlineData(0x3F818000u, (ushort)0x3F82)] // half-way, odd below: to even (up)
    [InlineData(0x3F808001u, (ushort)0x3F81)] // just above half-way: up
    [InlineData(0x80000000u, (ushort)0x8000)] // -0
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float.MaxValue: past the largest bfloat16, to +inf
    [InlineData(0xFF800000u, (ushort)0xFF80)] // -inf
    [InlineData(0x7FC00001u, (ushort)0x7FC0)] // NaN: PyTorch's NaN
    [InlineData(0xFFFFFFFFu, (ushort)0x7FC0)] // negative NaN with a payload, too
    [InlineData(0x00000001u, (ushort)0x0000)] // the smallest denormal rounds to +0
    public void Round_Bits(uint floatBits, ushort expected)
    {
        Assert.Equal(expected, BFloat16.Round(BitConverter.UInt32BitsToSingle(floatBits)));
        Assert.Equal(BitConverter.UInt32BitsToSingle((uint)expected << 16), BFloat16.Widen(expected));
    }

    [Fact]
    public void ToCompact_HoldsTheRoundedValues_InterleavedPerKk_AndItsViews()
    {
        const int rows = 70, leftCols = 37, rightCols = 20;
        float[] left = Random(rows * leftCols, 1), right = Random(rows * rightCols, 2);
        var (joined, _, _) = PackedMatrix.PackSideBySide(left, leftCols, right, rightCols, rows);
        var (compact, compactLeft, compactRight) = joined.ToCompact(leftCols);

        Assert.True(compact.IsCompact && compactLeft.IsCompact && compactRight.IsCompact);
        Assert.Equal((rows, leftCols + rightCols), (compact.Rows, compact.Cols));
        Assert.Equal((rows, leftCols), (compactLeft.Rows, compactLeft.Cols));
        Assert.Equal((rows, rightCols), (compactRight.Rows, compactRight.Cols));
        Assert.Equal(0, compact.DataAddress % PackedMatrix.AlignmentBytes);
        Assert.Equal(compact.DataAddress + (leftCols * PackedMatrix.PanelWidth * sizeof(ushort)), compactRight.DataAddress);
        Assert.Throws<InvalidOperationException>(() => compact.Data.Length);

        ReadOnlySpan<ushort> data = compact.CompactData;
        int stride = compact.PanelStride;
        for (int p = 0; p < compact.PanelCount; p++)
        {
            for (int kk = 0; kk < compact.Cols; kk++)
            {
                for (int j = 0; j < PackedMatrix.PanelWidth; j++)
                {
                    int row = (p * PackedMatrix.PanelWidth) + j;
                    float w = row >= rows ? 0f : kk < leftCols ? left[(row * leftCols) + kk] : right[(row * rightCols) + kk - leftCols];
                    int at = (p * stride) + (kk * PackedMatrix.PanelWidth) + PackedMatrix.InterleavedPosition(j);
                    Assert.Equal(BFloat16.Round(w), data[at]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Product_MatchesTheFloatProductOfTheRoundedWeights(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        int[] ms = [1, 2, 3, 4, 5, 7, 13, 64];
        int[] ks = [0, 1, 17, 47, 48, 49, 97, Gemm.BlockK, Gemm.BlockK + 1, 300];
        int[] ns = [1, 16, 17, 32, 33, 100, 129, 257];
        int index = 0;
        foreach (int m in ms)
        {
            foreach (int k in ks)
            {
                foreach (int n in ns)
                {
                    // A deterministic sample of the grid (the emulated paths are slow), every m and k with several n; all
                    // of it at the m of the row kernels (1 to 4).
                    if (index++ % 3 != 0 && m > 4)
                    {
                        continue;
                    }

                    // The seed picks bias, accumulate and order (Same), and whether the whole panel range: shifted by one
                    // per k so that each (m, n) meets every combination over the ks, not one fixed by n's place in ns.
                    int seed = index + (index / ns.Length);
                    CheckProduct(path, m, k, n, seed, whole: seed % 5 != 0);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SideBySideViews_MatchTheFloatViews(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        const int rows = 200, leftCols = 40, rightCols = 136; // the right view and the joined one over several K chunks (MultiRowChunkK)
        float[] left = Random(rows * leftCols, 3), right = Random(rows * rightCols, 4);
        var floats = PackedMatrix.PackSideBySide(Rounded(left), leftCols, Rounded(right), rightCols, rows);
        var compact = PackedMatrix.PackSideBySide(left, leftCols, right, rightCols, rows).Joined.ToCompact(leftCols);
        foreach (int m in new[] { 1, 2, 3, 4, 9 })
        {
            Same(path, m, floats.Left, compact.Left, 10 + m);
            Same(path, m, floats.Right, compact.Right, 20 + m);
            Same(path, m, floats.Joined, compact.Joined, 30 + m);
        }
    }

    /// <summary>
    /// Batch 1 is what compact weights are for: every vector path reads the compact panels in its row kernel there, half
    /// the bytes of floats. Widening them slice by slice instead gives the same bits (the tests above cannot tell) but
    /// made batch-1 layers 1.2–1.9× slower than with float weights on Vector256 and Vector128 (performance log,
    /// 2026-12-02), so this guards the choice.
    /// </summary>
    [Theory]
    [InlineData("Vector512")]
    [InlineData("Vector256")]
    [InlineData("Vector128")]
    public void BatchOne_ReadsTheCompactPanelsDirectly(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        foreach (long weightBytes in new[] { 256L * 1024 * 4, 1024L * 4096 * 4 }) // S1's W_hh, S4's
        {
            Assert.True(Gemm.CompactRowKernelPanels(path, 1, weightBytes) > 0, $"{path}, {weightBytes} bytes of float W: widened slices at batch 1");
        }
    }

    /// <summary>
    /// Beyond the row kernels, the blocked loops of Vector512 (pairs of panels, the wide tile) and Vector256 read the
    /// compact panels too: widening them slice by slice gives the same bits but made bfloat16 layers at batch 8 to 64 run
    /// 0.75–0.91× (AVX-512) and 0.82–0.97× (AVX2) as fast as float32 ones (performance log, 2026-12-02).
    /// </summary>
    [Theory]
    [InlineData("Vector512", 2)]
    [InlineData("Vector256", 1)]
    public void BlockedProducts_ReadTheCompactPanelsDirectly(string pathName, int panels)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        Assert.Equal(panels, Gemm.CompactBlockPanels(path)); // 0: its compact products beyond the row kernels widen the weights
        Assert.Equal(0, Gemm.CompactRowKernelPanels(path, 5, 512L * 2048 * 4)); // so batch 5 and more do take the blocked loops
    }

    /// <summary>m × k × n with bias or without, accumulating or not, padded strides, both panel orders; the whole
    /// panel range or a middle part of it.</summary>
    private static void CheckProduct(KernelPath path, int m, int k, int n, int seed, bool whole)
    {
        float[] weights = Random(n * k, seed);
        PackedMatrix floats = PackedMatrix.Pack(Rounded(weights), n, k);
        PackedMatrix compact = PackedMatrix.Pack(weights, n, k).ToCompact(k).Joined;
        int first = whole ? 0 : Math.Min(1, floats.PanelCount - 1);
        int count = whole ? floats.PanelCount : Math.Max(1, floats.PanelCount - 2);
        count = Math.Min(count, floats.PanelCount - first);
        Same(path, m, floats, compact, seed, first, count);
    }

    private static void Same(KernelPath path, int m, PackedMatrix floats, PackedMatrix compact, int seed, int first = 0, int count = -1)
    {
        count = count < 0 ? floats.PanelCount : count;
        int k = floats.Cols, n = floats.Rows;
        int lda = k + (seed % 3), ldc = n + (seed % 5);
        bool accumulate = seed % 2 == 1, bias = seed % 3 != 1;
        PanelOrder order = seed % 4 < 2 ? PanelOrder.Ascending : PanelOrder.Descending;
        float[] a = Random(Math.Max(1, m * lda), seed + 100);
        float[] b = bias ? Random(n, seed + 200) : [];
        float[] expected = Random(m * ldc, seed + 300), actual = (float[])expected.Clone();
        Gemm.Multiply(path, a, lda, m, floats, b, expected, ldc, accumulate, first, count, order);
        Gemm.Multiply(path, a, lda, m, compact, b, actual, ldc, accumulate, first, count, order);
        Assert.True(
            expected.AsSpan().SequenceEqual(actual),
            $"{path}: m {m}, k {k}, n {n}, panels [{first}, {first + count}), bias {bias}, accumulate {accumulate}, {order}: first difference at {FirstDifference(expected, actual)}");
    }

    private static int FirstDifference(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(expected[i]) != BitConverter.SingleToUInt32Bits(actual[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return values;
    }

    private static float[] Rounded(float[] values) => Array.ConvertAll(values, BFloat16.RoundToFloat);
}
