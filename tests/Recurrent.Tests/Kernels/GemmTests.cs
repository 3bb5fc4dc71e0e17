using System.Runtime.Intrinsics;
using Recurrent.Kernels;
using Recurrent.Tests.Reference;

namespace Recurrent.Tests.Kernels;

public class GemmTests
{
    private static readonly KernelPath[] AllPaths = [KernelPath.Scalar, KernelPath.Vector128, KernelPath.Vector256, KernelPath.Vector512];

    private static readonly int[] Ms = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 25, 64];
    private static readonly int[] Ns = [1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97];
    private const int KC = Gemm.BlockK;

    // Paths are passed by name: KernelPath is internal, and theory parameters must be public types.

    /// <summary>Every path × k. Small k run the full m × n grid; large k a deterministic sample of it (the whole class
    /// must stay fast when Vector512 is software-emulated).</summary>
    public static TheoryData<string, int> PathsAndKs()
    {
        int[] ks = [0, 1, 2, 3, 7, 16, 17, 31, 33, 64, 100, KC - 1, KC, KC + 1, 2 * KC + 1];
        var data = new TheoryData<string, int>();
        foreach (KernelPath path in AllPaths)
        {
            foreach (int k in ks)
            {
                data.Add(path.ToString(), k);
            }
        }

        return data;
    }

    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (KernelPath path in AllPaths)
        {
            data.Add(path.ToString());
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndKs))]
    public void MatchesReference_AllShapes(string pathName, int k)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(1000 + (31 * (int)path) + k);
        int stride = k <= 33 ? 1 : k <= 100 ? 3 : 7; // sample the grid for large k
        int index = 0;
        foreach (int m in Ms)
        {
            foreach (int n in Ns)
            {
                if (index++ % stride != 0 && m != 1 && m != 64)
                {
                    continue;
                }

                // Rotate through the options so every k sees each of them on many shapes.
                var options = new CaseOptions(
                    LdaPad: index % 4 == 0 ? 0 : index % 5,
                    LdcPad: (index / 2) % 3 == 0 ? 0 : (index % 7) + 1,
                    Accumulate: index % 3 == 1,
                    Bias: index % 2 == 0);
                CheckAgainstReference(path, m, n, k, options, rng);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MatchesReference_AcrossRowBlocksOfA(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        // m crosses the MC row blocks (BlockMTarget rows, rounded to MR) and k crosses K blocks.
        var rng = new Random(7 + (int)path);
        CheckAgainstReference(path, (2 * Gemm.BlockMTarget) + 5, 33, KC + 1, new CaseOptions(3, 2, Accumulate: false, Bias: true), rng);
        CheckAgainstReference(path, Gemm.BlockMTarget + 1, 64, 17, new CaseOptions(0, 0, Accumulate: true, Bias: false), rng);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MatchesReference_EveryOptionCombination(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(99 + (int)path);
        foreach ((int m, int n, int k) in new[] { (1, 97, 33), (2, 130, 17), (13, 65, 129), (3, 32, 1) })
        {
            foreach (bool accumulate in new[] { false, true })
            {
                foreach (bool bias in new[] { false, true })
                {
                    foreach ((int ldaPad, int ldcPad) in new[] { (0, 0), (5, 0), (0, 3), (1, 33) })
                    {
                        CheckAgainstReference(path, m, n, k, new CaseOptions(ldaPad, ldcPad, accumulate, bias), rng);
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void PanelRange_TouchesOnlyItsColumns(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(5 + (int)path);

        // (13, 300, KC + 1) runs the blocked loops over 10 panels, more than one KC × NC block of W, so ranges cross a block edge.
        Assert.True((300 + 31) / 32 > Gemm.BlockNBytes / (KC * PackedMatrix.PanelWidth * sizeof(float)));
        foreach ((int m, int n, int k) in new[] { (1, 300, 40), (2, 300, 40), (3, 97, 129), (4, 300, 40), (13, 97, 20), (13, 300, KC + 1) })
        {
            int panels = (n + 31) / 32;
            foreach ((int first, int count) in new[] { (0, 1), (1, 2), (panels - 1, 1), (1, panels - 1), (2, 0), (0, panels) })
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    CheckAgainstReference(path, m, n, k, new CaseOptions(2, 3, accumulate, Bias: true, first, count), rng);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void PanelPairsAndBalancedRowTiles_MatchReference(string pathName)
    {
        // Vector512 runs pairs of full panels through its wide tile and a block's odd or partial last panel alone; rows
        // go in tiles of about equal size. Panel counts here: 9 (a full block of 8 and one left), 10 with a partial last,
        // 17 (two blocks and one panel); ranges that start at an odd panel pair differently. Rows: one tile short of
        // MR, tiles of unequal size, several MR multiples, and a block of A (BlockMTarget) plus a few.
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(23 + (int)path);
        foreach (int m in new[] { 5, 7, 13, 32, 37, Gemm.BlockMTarget + 3 })
        {
            foreach ((int n, int first, int count) in new[] { (9 * 32, 0, 9), (9 * 32 + 17, 0, 10), (17 * 32, 0, 17), (17 * 32, 1, 15), (9 * 32 + 17, 3, 7) })
            {
                bool accumulate = (m + first) % 2 == 0;
                CheckAgainstReference(path, m, n, KC + 3, new CaseOptions(1, 2, accumulate, Bias: !accumulate, first, count), rng);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void WeightsBeyondPrefetchThreshold_MatchReference_AndHalvesWithoutPrefetch(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(17 + (int)path);

        // 55 panels × 300 × 32 floats: just over PrefetchWeightsFromBytes, so the whole product prefetches each next
        // block of W while the halves (below it) do not; a partial last panel, two K blocks, a row tail.
        const int m = 29, n = 1750, k = KC + 44;
        Assert.True((long)((n + 31) / 32) * k * 32 * sizeof(float) >= Gemm.PrefetchWeightsFromBytes);
        Assert.True((long)((n + 31) / 32 / 2 + 1) * k * 32 * sizeof(float) < Gemm.PrefetchWeightsFromBytes);
        CheckAgainstReference(path, m, n, k, new CaseOptions(1, 3, Accumulate: true, Bias: false), rng);

        AssertHalvesGiveWholeBits(path, m, n, k, rng, PanelOrder.Ascending);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void TwoAndFourRowsBeyondRowKernelLimit_MatchReference_AndHalvesThroughRowKernels(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(37 + (int)path);

        // 2 and 4 rows over 35 panels × 1000 × 32 floats: just over MultiRowMaxWeightBytes, so on Vector256 the whole
        // product runs through the blocked loops while each half (below it) runs through the two- or four-row kernel
        // (groups of 3 panels, a partial K chunk, a group's leftover and the partial last panel blocked). Both give the
        // reference and the same bits.
        const int n = (34 * 32) + 5, k = 1000;
        Assert.True(Gemm.WeightBytesOf(k, (n + 31) / 32) > Gemm.MultiRowMaxWeightBytes);
        Assert.True(Gemm.WeightBytesOf(k, ((n + 31) / 32 / 2) + 1) <= Gemm.MultiRowMaxWeightBytes);
        foreach (int m in new[] { 2, 4 })
        {
            CheckAgainstReference(path, m, n, k, new CaseOptions(2, 1, Accumulate: true, Bias: false), rng);

            AssertHalvesGiveWholeBits(path, m, n, k, rng, PanelOrder.Descending);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SplitByPanelRanges_IsBitIdentical(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(11 + (int)path);
        foreach ((int m, int n, int k) in new[] { (1, 300, 2 * KC + 1), (2, 300, 129), (3, 97, KC + 7), (4, 300, KC + 1), (13, 97, 2 * KC + 1), (30, 200, 70), (13, 300, KC + 1) })
        {
            int panels = (n + 31) / 32;
            float[] a = RandomArray(rng, m * k);
            float[] w = RandomArray(rng, n * k);
            float[] bias = RandomArray(rng, n);
            var packed = PackedMatrix.Pack(w, n, k);

            float[] whole = new float[m * n];
            Gemm.Multiply(path, a, k, m, packed, bias, whole, n, false, 0, panels);

            foreach (int[] cuts in new[] { new[] { 0, panels / 2, panels }, new[] { 0, 1, (2 * panels) / 3, panels }, new[] { 0, 3, panels } })
            {
                float[] split = new float[m * n];
                for (int r = 0; r + 1 < cuts.Length; r++)
                {
                    Gemm.Multiply(path, a, k, m, packed, bias, split, n, false, cuts[r], cuts[r + 1] - cuts[r]);
                }

                AssertBitsEqual(whole, split, $"{path} m={m} n={n} k={k} cuts={string.Join(",", cuts)}");
            }
        }
    }

    /// <summary>Descending panel order (row-kernel products stream W back to front) gives the ascending bits, writes
    /// only the range's columns, and reads or writes nothing else; over row-kernel groups with leftover and partial
    /// panels, blocked products (which ignore the order), accumulate and bias.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void DescendingPanelOrder_IsBitIdentical(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(19 + (int)path);
        foreach ((int m, int n, int k) in new[] { (1, 300, 2 * KC + 1), (1, 512, 64), (2, 300, 129), (3, 97, KC + 7), (4, 300, KC + 1), (13, 97, 33) })
        {
            int panels = (n + 31) / 32;
            float[] a = RandomArray(rng, m * k);
            var packed = PackedMatrix.Pack(RandomArray(rng, n * k), n, k);
            float[] bias = RandomArray(rng, n);
            float[] start = RandomArray(rng, m * n);
            foreach ((int first, int count) in new[] { (0, panels), (1, panels - 1), (0, panels - 1), (panels - 1, 1), (2, Math.Max(0, panels - 3)) })
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] ascending = (float[])start.Clone(), descending = (float[])start.Clone();
                    Gemm.Multiply(path, a, k, m, packed, accumulate ? default : bias, ascending, n, accumulate, first, count, PanelOrder.Ascending);
                    Gemm.Multiply(path, a, k, m, packed, accumulate ? default : bias, descending, n, accumulate, first, count, PanelOrder.Descending);
                    string what = $"{path} m={m} n={n} k={k} panels [{first}, {first + count}) accumulate={accumulate}";
                    AssertBitsEqual(ascending, descending, what);

                    // Columns outside the range keep their starting values (in both orders, as they are equal).
                    int col0 = first * 32, col1 = Math.Min(n, (first + count) * 32);
                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            bool inRange = j >= col0 && j < col1;
                            Assert.True(inRange || BitConverter.SingleToInt32Bits(descending[(i * n) + j]) == BitConverter.SingleToInt32Bits(start[(i * n) + j]), $"column {j} outside the range changed: {what}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// [A | B] packed side by side: each view multiplies as A or B packed alone, and one pass of [x | h]·[A | B]ᵀ + bias
    /// gives the bits of x·Aᵀ + bias followed by accumulating h·Bᵀ (the chain runs over A's columns, then B's), as a
    /// single streaming step relies on. Row-kernel and blocked row counts, partial panels, K blocks on either side.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void SideBySide_ViewsAndJoinedProduct_BitIdenticalToSeparate(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(29 + (int)path);
        foreach ((int m, int n, int ka, int kb) in new[] { (1, 300, 40, 70), (2, 160, KC + 3, 33), (4, 97, 17, KC + 1), (13, 200, 5, 10), (1, 20, 10, 5) })
        {
            float[] wa = RandomArray(rng, n * ka), wb = RandomArray(rng, n * kb), bias = RandomArray(rng, n);
            float[] x = RandomArray(rng, m * ka), h = RandomArray(rng, m * kb);
            (PackedMatrix joined, PackedMatrix left, PackedMatrix right) = PackedMatrix.PackSideBySide(wa, ka, wb, kb, n);
            Assert.Equal((ka, kb, ka + kb), (left.Cols, right.Cols, joined.Cols));
            Assert.Equal(0, right.DataAddress % PackedMatrix.AlignmentBytes);
            PackedMatrix aAlone = PackedMatrix.Pack(wa, n, ka), bAlone = PackedMatrix.Pack(wb, n, kb);
            string what = $"{path} m={m} n={n} ka={ka} kb={kb}";

            // Separately: C = x·Aᵀ + bias, then C += h·Bᵀ.
            float[] separate = new float[m * n];
            Gemm.Multiply(path, x, ka, m, aAlone, bias, separate, n, false, 0, aAlone.PanelCount);
            Gemm.Multiply(path, h, kb, m, bAlone, default, separate, n, true, 0, bAlone.PanelCount);

            // The same through the views.
            float[] viaViews = new float[m * n];
            Gemm.Multiply(path, x, ka, m, left, bias, viaViews, n, false, 0, left.PanelCount);
            Gemm.Multiply(path, h, kb, m, right, default, viaViews, n, true, 0, right.PanelCount);
            AssertBitsEqual(separate, viaViews, what + " (views)");

            // One pass over [x | h].
            float[] xh = new float[m * (ka + kb)];
            for (int i = 0; i < m; i++)
            {
                x.AsSpan(i * ka, ka).CopyTo(xh.AsSpan(i * (ka + kb)));
                h.AsSpan(i * kb, kb).CopyTo(xh.AsSpan((i * (ka + kb)) + ka));
            }

            float[] oneCall = new float[m * n];
            Gemm.Multiply(path, xh, ka + kb, m, joined, bias, oneCall, n, false, 0, joined.PanelCount);
            AssertBitsEqual(separate, oneCall, what + " (joined)");
        }
    }

    /// <summary>
    /// Column vectors (<see cref="PackedMatrix.EnsureColumnVectors"/>) give the panels' bits for every row count (above 4
    /// in groups of 4, 3 and 2), panel
    /// range (whole, from panel 1, without the partial last panel, a unit split's 4 panels, one panel, the partial one
    /// alone, none), order, start (bias, zeros, C), and k (one kk to several K blocks); they write nothing outside the
    /// range (C's gaps hold NaN). Vector counts cover passes of 3 only, 3s and one 2, and 3s and two 2s (4 rows).
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void ColumnVectors_BitIdenticalToPanels(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var rng = new Random(41 + (int)path);
        Assert.True(1100L * 31 * PackedMatrix.PanelWidth * sizeof(float) > Gemm.ColumnVectorBlocksFromBytes, "k = 1100 runs 31 panels or more in blocks");
        foreach ((int m, int n, int k) in new[]
        {
            (4, 32, 1), (2, 64, 5), (4, 97, 33), (4, 160, 129), (2, 300, 40), (4, 300, KC + 1), (4, 416, 17), (1, 300, 40), (3, 97, 33),
            (5, 130, 17), (6, 64, 9), (7, 97, 20), (9, 160, 3), (9, 160, Gemm.ColumnVectorGroupsMinK), (13, 300, 65), (64, 96, 49),
            (9, 1040, 1100), // more than ColumnVectorBlocksFromBytes of W: blocks of 3 panels, the last of 2 (or 1)
        })
        {
            int panels = (n + 31) / 32, ldc = n + 3;
            float[] a = RandomArray(rng, m * k), w = RandomArray(rng, n * k), bias = RandomArray(rng, n);
            PackedMatrix plain = PackedMatrix.Pack(w, n, k), withVectors = PackedMatrix.Pack(w, n, k);
            withVectors.EnsureColumnVectors();
            Assert.True(withVectors.HasColumnVectors);
            Assert.Equal(n / 32 * 4, withVectors.ColumnVectorCount);
            float[] start = new float[(m * ldc) + 3];
            Array.Fill(start, float.NaN);
            for (int i = 0; i < m; i++)
            {
                RandomArray(rng, n).CopyTo(start, i * ldc);
            }

            var ranges = new[] { (0, panels), (1, panels - 1), (0, n / 32), (1, Math.Min(4, panels - 1)), (panels - 1, 1), (0, 1), (Math.Min(2, panels), 0) };
            foreach ((int first, int count) in ranges.Distinct())
            {
                foreach ((bool accumulate, bool hasBias) in new[] { (false, true), (false, false), (true, false) })
                {
                    foreach (PanelOrder order in new[] { PanelOrder.Ascending, PanelOrder.Descending })
                    {
                        float[] expected = (float[])start.Clone(), actual = (float[])start.Clone();
                        Gemm.Multiply(path, a, k, m, plain, hasBias ? bias : default, expected, ldc, accumulate, first, count, order);
                        Gemm.Multiply(path, a, k, m, withVectors, hasBias ? bias : default, actual, ldc, accumulate, first, count, order);
                        AssertBitsEqual(expected, actual, $"{path} m={m} n={n} k={k} panels [{first}, {first + count}) accumulate={accumulate} bias={hasBias} {order}");
                    }
                }
            }
        }
    }

    /// <summary>A side-by-side view's column vectors are its own columns' (W_hh of [W_ih | W_hh]): the same bits as that
    /// matrix packed alone, with or without them; a compact matrix and one without a full panel build none.</summary>
    [Fact]
    public void ColumnVectors_OfViews_AndWhereNoneAreBuilt()
    {
        var rng = new Random(43);
        const int n = 200, ka = 24, kb = 40;
        float[] wa = RandomArray(rng, n * ka), wb = RandomArray(rng, n * kb), h = RandomArray(rng, 4 * kb);
        (PackedMatrix joined, _, PackedMatrix right) = PackedMatrix.PackSideBySide(wa, ka, wb, kb, n);
        right.EnsureColumnVectors();
        Assert.True(right.HasColumnVectors);
        Assert.False(joined.HasColumnVectors);
        foreach (KernelPath path in AllPaths)
        {
            float[] expected = new float[4 * n], actual = new float[4 * n];
            Gemm.Multiply(path, h, kb, 4, PackedMatrix.Pack(wb, n, kb), default, expected, n, false, 0, right.PanelCount);
            Gemm.Multiply(path, h, kb, 4, right, default, actual, n, false, 0, right.PanelCount);
            AssertBitsEqual(expected, actual, $"{path} right view");
        }

        PackedMatrix compact = joined.ToCompact(ka).Right, narrow = PackedMatrix.Pack(RandomArray(rng, 31 * kb), 31, kb);
        compact.EnsureColumnVectors();
        narrow.EnsureColumnVectors();
        Assert.False(compact.HasColumnVectors);
        Assert.False(narrow.HasColumnVectors);
        Assert.Throws<InvalidOperationException>(() => narrow.ColumnVectorsReference);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ResultDoesNotDependOnM_IsBitIdentical(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        // The same row computed alone (m = 1, the row kernel), in pairs, threes and fours (the row-pair kernel), or inside
        // large row blocks gives the same bits.
        var rng = new Random(13 + (int)path);
        foreach ((int m, int n, int k) in new[] { (29, 160, 2 * KC + 1), (17, 97, 33) })
        {
            float[] a = RandomArray(rng, m * k);
            float[] w = RandomArray(rng, n * k);
            float[] bias = RandomArray(rng, n);
            var packed = PackedMatrix.Pack(w, n, k);

            float[] whole = new float[m * n];
            Gemm.Multiply(path, a, k, m, packed, bias, whole, n, false, 0, packed.PanelCount);

            foreach (int rowsPerCall in new[] { 1, 2, 3, 4, 5 })
            {
                float[] pieces = new float[m * n];
                for (int i = 0; i < m; i += rowsPerCall)
                {
                    int rows = Math.Min(rowsPerCall, m - i);
                    Gemm.Multiply(path, a.AsSpan(i * k), k, rows, packed, bias, pieces.AsSpan(i * n), n, false, 0, packed.PanelCount);
                }

                AssertBitsEqual(whole, pieces, $"{path} m={m} n={n} k={k} rowsPerCall={rowsPerCall}");
            }
        }
    }

    [Fact]
    public void ReferenceGemm_HandComputedCase()
    {
        // A = [[1, 2], [3, 4]] (lda 3, gap ignored), W = [[1, 0], [0, 1], [1, -1]] (3 × 2), bias = [10, 20, 30]:
        // C = [[1+10, 2+20, -1+30], [3+10, 4+20, -1+30]].
        float[] a = [1, 2, float.NaN, 3, 4];
        float[] w = [1, 0, 0, 1, 1, -1];
        double[] c = ReferenceGemm.Multiply(a, 3, 2, w, 3, 2, null, [10, 20, 30], out double[] magnitude);
        Assert.Equal([11.0, 22.0, 29.0, 13.0, 24.0, 29.0], c);
        Assert.Equal([11.0, 22.0, 33.0, 13.0, 24.0, 37.0], magnitude);

        double[] accumulated = ReferenceGemm.Multiply(a, 3, 2, w, 3, 2, [1, 1, 1, 1, 1, 1], [10, 20, 30], out _);
        Assert.Equal([2.0, 3.0, 0.0, 4.0, 5.0, 0.0], accumulated);
    }

    [Fact]
    public void PublicOverloads_UseBestPath()
    {
        var rng = new Random(17);
        const int m = 5, n = 70, k = 40;
        float[] a = RandomArray(rng, m * k);
        var packed = PackedMatrix.Pack(RandomArray(rng, n * k), n, k);
        float[] bias = RandomArray(rng, n);

        float[] expected = new float[m * n];
        Gemm.Multiply(Gemm.BestPath, a, k, m, packed, bias, expected, n, false, 0, packed.PanelCount);
        float[] viaAll = new float[m * n];
        Gemm.Multiply(a, k, m, packed, bias, viaAll, n, false);
        float[] viaRange = new float[m * n];
        Gemm.Multiply(a, k, m, packed, bias, viaRange, n, false, 0, packed.PanelCount);

        AssertBitsEqual(expected, viaAll, "all-panels overload");
        AssertBitsEqual(expected, viaRange, "panel-range overload");
    }

    /// <summary>
    /// The Vector128 path fuses each multiply-add where the hardware does, and where it does not (CI runs the suite with
    /// <c>DOTNET_EnableAVX=0</c> and with intrinsics off) multiplies, then adds, rather than leave the fused one to the
    /// runtime's software emulation (100–200× slower): bit for bit the chain bias, then acc = a·w + acc per kk, with one
    /// rounding or with two.
    /// </summary>
    [Fact]
    public void Vector128Path_FusesExactlyWhereTheHardwareDoes()
    {
        const int m = 3, k = 41, n = 40;
        var rng = new Random(11);
        float[] a = RandomArray(rng, m * k), w = RandomArray(rng, n * k), bias = RandomArray(rng, n);
        var packed = PackedMatrix.Pack(w, n, k);
        float[] c = new float[m * n];
        Gemm.Multiply(KernelPath.Vector128, a, k, m, packed, bias, c, n, false, 0, packed.PanelCount);

        float[] fused = new float[m * n], unfused = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float one = bias[j], two = bias[j];
                for (int kk = 0; kk < k; kk++)
                {
                    one = MathF.FusedMultiplyAdd(a[(i * k) + kk], w[(j * k) + kk], one);
                    float product = a[(i * k) + kk] * w[(j * k) + kk];
                    two = product + two;
                }

                fused[(i * n) + j] = one;
                unfused[(i * n) + j] = two;
            }
        }

        Assert.NotEqual(fused, unfused); // the data tells the two apart
        AssertBitsEqual(FusedMultiplyAdds.InHardware ? fused : unfused, c, FusedMultiplyAdds.InHardware ? "fused" : "multiply, then add");
    }

    [Fact]
    public void BestPath_MatchesHardwareFlags()
    {
        KernelPath expected = Vector512.IsHardwareAccelerated ? KernelPath.Vector512
            : Vector256.IsHardwareAccelerated ? KernelPath.Vector256
            : Vector128.IsHardwareAccelerated ? KernelPath.Vector128
            : KernelPath.Scalar;
        Assert.Equal(expected, Gemm.BestPath);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MZero_IsNoOp(string pathName)
    {
        KernelPath path = Enum.Parse<KernelPath>(pathName);
        var packed = PackedMatrix.Pack(new float[6], 2, 3);
        float[] c = [float.NaN, 1f, 2f];
        Gemm.Multiply(path, [], 3, 0, packed, [], c, 2, false, 0, 1);
        Assert.True(float.IsNaN(c[0]));
        Assert.Equal([1f, 2f], c[1..]);
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        const int m = 3, n = 40, k = 5;
        var packed = PackedMatrix.Pack(new float[n * k], n, k);
        float[] a = new float[m * k];
        float[] c = new float[m * n];
        float[] bias = new float[n];

        void Call(float[] aa, int lda, int mm, float[] bb, float[] cc, int ldc, int first, int count, KernelPath path = KernelPath.Vector512)
            => Gemm.Multiply(path, aa, lda, mm, packed, bb, cc, ldc, false, first, count);

        Call(a, k, m, bias, c, n, 0, 2); // valid baseline
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k, -1, bias, c, n, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k - 1, m, bias, c, n, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k, m, bias, c, n - 1, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k, m, bias, c, n, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k, m, bias, c, n, 0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k, m, bias, c, n, 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k, m, bias, c, n, 3, 0));
        Assert.Throws<ArgumentException>(() => Call(a, k, m, new float[n - 1], c, n, 0, 2));
        Assert.Throws<ArgumentException>(() => Call(a, k, m, new float[n + 1], c, n, 0, 2));
        Assert.Throws<ArgumentException>(() => Call(new float[(m * k) - 1], k, m, bias, c, n, 0, 2));
        Assert.Throws<ArgumentException>(() => Call(a, k + 1, m, bias, c, n, 0, 2)); // stride makes A too short
        Assert.Throws<ArgumentException>(() => Call(a, k, m, bias, new float[(m * n) - 1], n, 0, 2));
        Assert.Throws<ArgumentException>(() => Call(a, k, m, bias, c, n + 1, 0, 2)); // stride makes C too short
        Assert.Throws<ArgumentOutOfRangeException>(() => Call(a, k, m, bias, c, n, 0, 2, (KernelPath)42));
        Assert.Throws<ArgumentNullException>(() => Gemm.Multiply(a, k, m, null!, bias, c, n, false));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, k, m, packed, bias, new float[2], n, false));
    }

    private sealed record CaseOptions(int LdaPad, int LdcPad, bool Accumulate, bool Bias, int FirstPanel = 0, int PanelCount = -1);

    /// <summary>
    /// Runs one product and checks it against <see cref="ReferenceGemm"/>: values in the selected columns within
    /// 1e-5·Σ|terms| + 1e-6; every other float of C (other columns, the ldc gaps, the tail after the last row)
    /// bit-for-bit unchanged. A's gaps hold NaN and, when not accumulating, so does all of C, so reading either
    /// would poison the result.
    /// </summary>
    private static void CheckAgainstReference(KernelPath path, int m, int n, int k, CaseOptions o, Random rng)
    {
        int lda = k + o.LdaPad, ldc = n + o.LdcPad;
        int panels = (n + 31) / 32;
        int first = o.FirstPanel, count = o.PanelCount < 0 ? panels : o.PanelCount;
        int col0 = 32 * first, col1 = Math.Min(n, 32 * (first + count));

        float[] a = new float[m * lda];
        Array.Fill(a, float.NaN);
        for (int i = 0; i < m; i++)
        {
            for (int kk = 0; kk < k; kk++)
            {
                a[i * lda + kk] = NextFloat(rng);
            }
        }

        float[] w = RandomArray(rng, n * k);
        float[] bias = o.Bias ? RandomArray(rng, n) : [];
        float[] c = new float[(m * ldc) + 3];
        Array.Fill(c, float.NaN);
        double[]? init = null;
        if (o.Accumulate)
        {
            init = new double[m * n];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    c[i * ldc + j] = NextFloat(rng);
                    init[i * n + j] = c[i * ldc + j];
                }
            }
        }

        float[] before = (float[])c.Clone();
        Gemm.Multiply(path, a, lda, m, PackedMatrix.Pack(w, n, k), bias, c, ldc, o.Accumulate, first, count);
        double[] expected = ReferenceGemm.Multiply(a, lda, m, w, n, k, init, bias, out double[] magnitude);

        // The same product from a matrix with column vectors (read by Vector256's products of 2 or more rows) gives the
        // same bits everywhere, in C's gaps and tail too.
        if (m >= 2)
        {
            var withVectors = PackedMatrix.Pack(w, n, k);
            withVectors.EnsureColumnVectors();
            float[] viaVectors = (float[])before.Clone();
            Gemm.Multiply(path, a, lda, m, withVectors, bias, viaVectors, ldc, o.Accumulate, first, count);
            AssertBitsEqual(c, viaVectors, $"{path} m={m} n={n} k={k} {o} with column vectors");
        }

        string where = $"{path} m={m} n={n} k={k} {o}";
        for (int idx = 0; idx < c.Length; idx++)
        {
            int i = idx / ldc, j = idx % ldc;
            if (i < m && j >= col0 && j < col1)
            {
                double e = expected[i * n + j];
                double tolerance = (1e-5 * magnitude[i * n + j]) + 1e-6;
                double error = Math.Abs(c[idx] - e);
                Assert.True(error <= tolerance, $"{where}: C[{i},{j}] = {c[idx]}, expected {e} (error {error}, tolerance {tolerance})");
            }
            else if (BitConverter.SingleToInt32Bits(c[idx]) != BitConverter.SingleToInt32Bits(before[idx]))
            {
                Assert.Fail($"{where}: float {idx} (row {i}, col {j}) is outside the output block but changed from {before[idx]} to {c[idx]}");
            }
        }
    }

    /// <summary>The product over all panels and the same product as two panel ranges (the second in
    /// <paramref name="secondHalf"/> order) give the same bits: for sizes where the whole and the halves take different
    /// routes (prefetching or not, blocked loops or a row kernel).</summary>
    private static void AssertHalvesGiveWholeBits(KernelPath path, int m, int n, int k, Random rng, PanelOrder secondHalf)
    {
        float[] a = RandomArray(rng, m * k);
        var packed = PackedMatrix.Pack(RandomArray(rng, n * k), n, k);
        float[] bias = RandomArray(rng, n);
        float[] whole = new float[m * n], halves = new float[m * n];
        Gemm.Multiply(path, a, k, m, packed, bias, whole, n, false, 0, packed.PanelCount);
        int half = packed.PanelCount / 2;
        Gemm.Multiply(path, a, k, m, packed, bias, halves, n, false, 0, half);
        Gemm.Multiply(path, a, k, m, packed, bias, halves, n, false, half, packed.PanelCount - half, secondHalf);
        AssertBitsEqual(whole, halves, $"{path} m={m} n={n} k={k}");
    }

    private static float NextFloat(Random rng) => (float)((rng.NextDouble() * 2) - 1);

    private static float[] RandomArray(Random rng, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = NextFloat(rng);
        }

        return values;
    }

    private static void AssertBitsEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} differs: {expected[i]} vs {actual[i]}");
            }
        }
    }
}
