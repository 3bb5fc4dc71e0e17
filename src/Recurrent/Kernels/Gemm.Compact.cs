using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Products with compact (bfloat16) weights. Where reading the weights bounds the time (small m: the row kernels), a
// path with a compact row kernel (Vector512 and Vector256 up to 4 rows, Vector128 at 1) reads the compact panels
// directly, widening each kk's values in registers. Larger m on Vector512 and Vector256 runs the blocked loops over the
// compact panels, full panels (pairs through Vector512's wide tile) widened kk by kk in registers as the row kernels do
// (RunCompactBlocked, IGemmKernel.CompactBlockPanels): where arithmetic bounds the time, widening slices into a buffer
// and packing A again for every slice's product cost 9–25 % (LSTM 256 to 1024 at batch 8 to 64 ran 0.75–0.91× as fast
// as with float weights on AVX-512, 0.82–0.97× on AVX2; 1.01–1.13× and 0.97–1.02× reading the panels, Zen 5,
// 2026-12-02).
// Everything else (the panels a row group or the pairs leave over, larger m on Vector128) widens the weights
// to floats slice by slice into a per-thread buffer laid out as packed float panels and runs the path's own kernels on
// each slice. Either way a compact product gives the same bits as the float product of the rounded weights: the same
// chains (the blocked loops' K blocks are the float product's), and slices
// follow the chain order (for each group of panels, K slices in increasing kk, the first starting from bias / 0 / C as the
// caller asked and the others from C, a float between slices as between the blocked loops' K blocks).
internal static partial class Gemm
{
    /// <summary>K slice widened at a time for a product the row kernels run (small m): with
    /// <see cref="CompactRowGroupPanels"/> panels, 4 · 48 · 32 floats = 24 KiB, which stay in L1 for the kernel.</summary>
    internal const int CompactRowSliceK = 48;

    /// <summary>Panels widened at a time for a small-m product: one group of the Vector512 row kernel.</summary>
    private const int CompactRowGroupPanels = 4;

    /// <summary>
    /// K slice widened at a time for a blocked product. Not <see cref="BlockK"/>: every widened group of panels is its
    /// own product, which packs its rows of A again, so the groups must stay wide; at 256 with 8 panels (below) the
    /// widening is as it was when BlockK was 256. With BlockK's 512 and 4 panels, layers with bfloat16 weights ran at
    /// 0.98–0.99× (2026-11-29, two builds in one process: L1 0.984, L4 0.991, S3 0.992, LSTM 512 at batch 8 0.985).
    /// </summary>
    private const int CompactBlockSliceK = 256;

    /// <summary>Panels widened at a time for a blocked product: one KC × NC block (<see cref="BlockNBytes"/> at KC =
    /// <see cref="CompactBlockSliceK"/>), which the blocked loops keep in L2 anyway.</summary>
    private const int CompactBlockGroupPanels = BlockNBytes / (CompactBlockSliceK * PackedMatrix.PanelWidth * sizeof(float));

    /// <summary>Per-thread buffer of widened slices; grows on demand, never shrinks.</summary>
    [ThreadStatic]
    private static AlignedFloats t_widened;

    /// <summary>
    /// A product with compact weights. Small m on a path with <see cref="IGemmKernel.CompactRowTile"/>: groups of full
    /// panels straight from the compact panels (half the bytes of floats: where reading the weights bounds the time, the
    /// point of the format), the panels left over widened (<see cref="RunWidened"/>); otherwise all widened.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunCompact<TKernel>(
        ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate, int firstPanel, int panelCount,
        PanelOrder order)
        where TKernel : struct, IGemmKernel
    {
        const int nr = PackedMatrix.PanelWidth;
        int group = TKernel.CompactRowKernelPanels(m, WeightBytesOf(w.Cols, panelCount));
        if (m == 0 || panelCount == 0 || w.Cols == 0) // k = 0: no weights to read (Run copies the bias)
        {
            RunWidened<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
            return;
        }

        if (group == 0)
        {
            if (TKernel.CompactBlockPanels > 0)
            {
                RunCompactBlocked<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
            }
            else
            {
                RunWidened<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
            }

            return;
        }

        // As Run: groups of full panels, then the rest; Descending runs the same pieces back to front.
        int endPanel = firstPanel + panelCount;
        int fullEnd = Math.Max(firstPanel, Math.Min(endPanel, w.Rows / nr));
        int groupsEnd = firstPanel + ((fullEnd - firstPanel) / group * group);
        if (order == PanelOrder.Descending && groupsEnd < endPanel)
        {
            RunWidened<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, groupsEnd, endPanel - groupsEnd, order);
        }

        for (int i = 0; i < (groupsEnd - firstPanel) / group; i++)
        {
            int p = order == PanelOrder.Descending ? groupsEnd - ((i + 1) * group) : firstPanel + (i * group);
            int col = p * nr;
            ref float dst = ref Unsafe.Add(ref MemoryMarshal.GetReference(c), col);
            ref float src = ref accumulate ? ref dst : ref bias.IsEmpty ? ref s_zeros[0] : ref Unsafe.Add(ref MemoryMarshal.GetReference(bias), col);
            TKernel.CompactRowTile(
                m, ref MemoryMarshal.GetReference(a), lda, ref Unsafe.Add(ref w.CompactReference, p * (nint)w.PanelStride), w.PanelStride, w.Cols,
                ref src, accumulate ? ldc : 0, ref dst, ldc);
        }

        if (order == PanelOrder.Ascending && groupsEnd < endPanel)
        {
            RunWidened<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, groupsEnd, endPanel - groupsEnd, order);
        }
    }

    /// <summary>A product with compact weights beyond the row kernels on a path with a compact tile
    /// (<see cref="IGemmKernel.CompactBlockPanels"/>): the full panels (in pairs, for a wide tile) through the blocked
    /// loops straight from the compact panels, the rest (an odd full panel, the partial last one) widened. Descending runs
    /// the same pieces back to front.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunCompactBlocked<TKernel>(
        ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate, int firstPanel, int panelCount,
        PanelOrder order)
        where TKernel : struct, IGemmKernel
    {
        const int nr = PackedMatrix.PanelWidth;
        int endPanel = firstPanel + panelCount;
        int fullEnd = Math.Max(firstPanel, Math.Min(endPanel, w.Rows / nr));
        int blocksEnd = firstPanel + ((fullEnd - firstPanel) / TKernel.CompactBlockPanels * TKernel.CompactBlockPanels);
        if (order == PanelOrder.Descending && blocksEnd < endPanel)
        {
            RunWidened<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, blocksEnd, endPanel - blocksEnd, order);
        }

        if (blocksEnd > firstPanel)
        {
            bool hasBias = !bias.IsEmpty;
            var lanes = new Panels(ref Unsafe.As<ushort, float>(ref w.CompactReference), w.PanelStride / 2, w.Rows, w.Cols);
            RunBlocked<TKernel, CompactPanels>(
                ref MemoryMarshal.GetReference(a), lda, m, lanes, ref hasBias ? ref MemoryMarshal.GetReference(bias) : ref s_zeros[0], hasBias,
                ref MemoryMarshal.GetReference(c), ldc, accumulate, firstPanel, blocksEnd);
        }

        if (order == PanelOrder.Ascending && blocksEnd < endPanel)
        {
            RunWidened<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, blocksEnd, endPanel - blocksEnd, order);
        }
    }

    /// <summary>A product with compact weights through float slices: each group of panels widened K slice by K slice into
    /// a per-thread buffer, and the path's float kernels run on each slice.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunWidened<TKernel>(
        ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate, int firstPanel, int panelCount,
        PanelOrder order)
        where TKernel : struct, IGemmKernel
    {
        const int nr = PackedMatrix.PanelWidth;
        if (m == 0 || panelCount == 0)
        {
            return;
        }

        int k = w.Cols, n = w.Rows;
        bool rowKernel = TKernel.RowKernelPanels(m, WeightBytesOf(k, panelCount)) > 0;
        int sliceK = rowKernel ? CompactRowSliceK : CompactBlockSliceK;
        int groupPanels = rowKernel ? CompactRowGroupPanels : CompactBlockGroupPanels;
        int widenedLength = groupPanels * sliceK * nr;
        if (t_widened.Length < widenedLength)
        {
            t_widened = new AlignedFloats(widenedLength);
        }

        ref float widened = ref MemoryMarshal.GetReference(t_widened.Span);
        int groups = (panelCount + groupPanels - 1) / groupPanels;
        for (int i = 0; i < groups; i++)
        {
            // Descending streams the groups back to front, as the row kernels' products do (see PanelOrder).
            int group = order == PanelOrder.Descending ? groups - 1 - i : i;
            int first = firstPanel + (group * groupPanels);
            int panels = Math.Min(groupPanels, firstPanel + panelCount - first);
            int col = first * nr;
            int columns = Math.Min(panels * nr, n - col);
            ReadOnlySpan<float> groupBias = bias.IsEmpty ? bias : bias.Slice(col, columns);
            Span<float> groupC = c[col..];
            if (k == 0)
            {
                Run<TKernel>(a, lda, m, new Panels(ref widened, 0, columns, 0), groupBias, groupC, ldc, accumulate, 0, panels, order);
                continue;
            }

            for (int pc = 0; pc < k; pc += sliceK)
            {
                int kc = Math.Min(sliceK, k - pc);
                Widen<TKernel>(ref Unsafe.Add(ref w.CompactReference, (first * (nint)w.PanelStride) + (pc * nr)), w.PanelStride, panels, kc, ref widened);
                Run<TKernel>(
                    a[pc..], lda, m, new Panels(ref widened, kc * nr, columns, kc), groupBias, groupC, ldc, accumulate || pc > 0, 0, panels, order);
            }
        }
    }

    /// <summary>
    /// Widens kk [0, <paramref name="kc"/>) of <paramref name="panels"/> compact panels (from <paramref name="compact"/>,
    /// <paramref name="panelStride"/> values apart) to float panels <c>kc · 32</c> floats apart at
    /// <paramref name="widened"/>, in the float layout (columns in order). Each kk's 32 values are 16 32-bit lanes
    /// holding (column j, column 16 + j): shifted up 16 bits a lane is column j's float, masked it is column 16 + j's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen<TKernel>(ref ushort compact, nint panelStride, int panels, int kc, ref float widened)
        where TKernel : struct, IGemmKernel
    {
        const int nr = PackedMatrix.PanelWidth;
        for (int q = 0; q < panels; q++)
        {
            ref uint from = ref Unsafe.As<ushort, uint>(ref Unsafe.Add(ref compact, q * panelStride));
            ref float to = ref Unsafe.Add(ref widened, q * kc * nr);
            for (int kk = 0; kk < kc; kk++)
            {
                WidenGroup<TKernel>(ref Unsafe.Add(ref from, kk * (nr / 2)), ref Unsafe.Add(ref to, kk * nr));
            }
        }
    }

    /// <summary>One kk's 32 values (16 lanes of two) to 32 floats, with the path's vector width (so each path's tests
    /// cover its own widening).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenGroup<TKernel>(ref uint pairs, ref float to)
        where TKernel : struct, IGemmKernel
    {
        const uint upper = 0xFFFF0000u;
        const int half = PackedMatrix.PanelWidth / 2;
        if (typeof(TKernel) == typeof(Vector512Kernel))
        {
            Vector512<uint> lanes = Vector512.LoadUnsafe(ref pairs);
            Vector512.ShiftLeft(lanes, 16).AsSingle().StoreUnsafe(ref to);
            (lanes & Vector512.Create(upper)).AsSingle().StoreUnsafe(ref to, half);
        }
        else if (typeof(TKernel) == typeof(Vector256Kernel))
        {
            for (int j = 0; j < half; j += Vector256<uint>.Count)
            {
                Vector256<uint> lanes = Vector256.LoadUnsafe(ref pairs, (nuint)j);
                Vector256.ShiftLeft(lanes, 16).AsSingle().StoreUnsafe(ref to, (nuint)j);
                (lanes & Vector256.Create(upper)).AsSingle().StoreUnsafe(ref to, (nuint)(half + j));
            }
        }
        else if (typeof(TKernel) == typeof(Vector128Kernel))
        {
            for (int j = 0; j < half; j += Vector128<uint>.Count)
            {
                Vector128<uint> lanes = Vector128.LoadUnsafe(ref pairs, (nuint)j);
                Vector128.ShiftLeft(lanes, 16).AsSingle().StoreUnsafe(ref to, (nuint)j);
                (lanes & Vector128.Create(upper)).AsSingle().StoreUnsafe(ref to, (nuint)(half + j));
            }
        }
        else
        {
            for (int j = 0; j < half; j++)
            {
                uint lane = Unsafe.Add(ref pairs, j);
                Unsafe.Add(ref to, j) = BitConverter.UInt32BitsToSingle(lane << 16);
                Unsafe.Add(ref to, half + j) = BitConverter.UInt32BitsToSingle(lane & upper);
            }
        }
    }
}
