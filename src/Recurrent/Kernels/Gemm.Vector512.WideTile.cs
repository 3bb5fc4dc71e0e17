using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Vector512 wide micro-kernel of the blocked loops: a TRows × 64 tile of C over two consecutive full panels (p, p + 1),
// TRows ≤ 6, in TRows × 4 accumulators (r{row}p{panel}{vector}); 24 accumulators + 4 W vectors + 1 broadcast = 29 of
// the 32 zmm registers. Per kk it loads the two panels' 32 floats (4 vectors, from two streams a panel stride apart),
// broadcasts A[i, kk] once per row from the packed micro-panel and does four FMAs with it: 10 loads per 24 FMAs.
// A 12 × 32 tile of one panel (Tile512 at MR 12, the blocked loops' kernel before this one) does the same 24 FMAs with
// 14 loads, 12 of them broadcasts from 12 different cache lines; on the Ice Lake CI machine (2026-11-29, everything in
// L1) it ran at 131–142 GFLOP/s against 169–178 for this shape (the measured FMA peak is ~175). Same chains as Tile512
// (one FMA per kk, in increasing kk, from the same start), so the same bits. Unlike Tile512 it leaves the W stream to
// the hardware prefetchers: asking for each panel's lines 4 kk ahead (PrefetchPanelAhead, 4 more loads per kk) made
// L1, L3, L4, F1 1-2 % slower and L5 7 % slower (interleaved A/B, 1 thread, 2026-11-29).
internal static partial class Gemm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WideTileRows(int rows, ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
    {
        AssertRows(rows, Vector512RowBlock);
        switch (rows)
        {
            case 1:
                WideTile512<R1>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 2:
                WideTile512<R2>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 3:
                WideTile512<R3>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 4:
                WideTile512<R4>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 5:
                WideTile512<R5>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 6:
                WideTile512<R6>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            default:
                throw new UnreachableException();
        }
    }

    /// <summary>The wide micro-kernel: TRows rows × panels p and p + 1 (<paramref name="panel"/> and one
    /// <paramref name="panelStride"/> on). Row i starts from <c>src[i * srcStride .. +64]</c> and ends in
    /// <c>dst[i * ldc .. +64]</c>; it brings <paramref name="prefetchLines"/> lines of the next block of W into L2 as
    /// <see cref="Tile512"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WideTile512<TRows>(ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
        where TRows : struct, IRowCount
    {
        Vector512<float> r0p0a = default, r0p0b = default, r0p1a = default, r0p1b = default;
        Vector512<float> r1p0a = default, r1p0b = default, r1p1a = default, r1p1b = default;
        Vector512<float> r2p0a = default, r2p0b = default, r2p1a = default, r2p1b = default;
        Vector512<float> r3p0a = default, r3p0b = default, r3p1a = default, r3p1b = default;
        Vector512<float> r4p0a = default, r4p0b = default, r4p1a = default, r4p1b = default;
        Vector512<float> r5p0a = default, r5p0b = default, r5p1a = default, r5p1b = default;

        if (TRows.Value > 0)
        {
            ref float s = ref Unsafe.Add(ref src, 0 * srcStride);
            r0p0a = Vector512.LoadUnsafe(ref s);
            r0p0b = Vector512.LoadUnsafe(ref s, 16);
            r0p1a = Vector512.LoadUnsafe(ref s, 32);
            r0p1b = Vector512.LoadUnsafe(ref s, 48);
        }

        if (TRows.Value > 1)
        {
            ref float s = ref Unsafe.Add(ref src, 1 * srcStride);
            r1p0a = Vector512.LoadUnsafe(ref s);
            r1p0b = Vector512.LoadUnsafe(ref s, 16);
            r1p1a = Vector512.LoadUnsafe(ref s, 32);
            r1p1b = Vector512.LoadUnsafe(ref s, 48);
        }

        if (TRows.Value > 2)
        {
            ref float s = ref Unsafe.Add(ref src, 2 * srcStride);
            r2p0a = Vector512.LoadUnsafe(ref s);
            r2p0b = Vector512.LoadUnsafe(ref s, 16);
            r2p1a = Vector512.LoadUnsafe(ref s, 32);
            r2p1b = Vector512.LoadUnsafe(ref s, 48);
        }

        if (TRows.Value > 3)
        {
            ref float s = ref Unsafe.Add(ref src, 3 * srcStride);
            r3p0a = Vector512.LoadUnsafe(ref s);
            r3p0b = Vector512.LoadUnsafe(ref s, 16);
            r3p1a = Vector512.LoadUnsafe(ref s, 32);
            r3p1b = Vector512.LoadUnsafe(ref s, 48);
        }

        if (TRows.Value > 4)
        {
            ref float s = ref Unsafe.Add(ref src, 4 * srcStride);
            r4p0a = Vector512.LoadUnsafe(ref s);
            r4p0b = Vector512.LoadUnsafe(ref s, 16);
            r4p1a = Vector512.LoadUnsafe(ref s, 32);
            r4p1b = Vector512.LoadUnsafe(ref s, 48);
        }

        if (TRows.Value > 5)
        {
            ref float s = ref Unsafe.Add(ref src, 5 * srcStride);
            r5p0a = Vector512.LoadUnsafe(ref s);
            r5p0b = Vector512.LoadUnsafe(ref s, 16);
            r5p1a = Vector512.LoadUnsafe(ref s, 32);
            r5p1b = Vector512.LoadUnsafe(ref s, 48);
        }

        ref float next = ref Unsafe.Add(ref panel, panelStride);
        for (int kk = 0; kk < kc; kk++)
        {
            if (kk < prefetchLines)
            {
                PrefetchIntoL2(ref Unsafe.Add(ref prefetch, kk * 16));
            }

            Vector512<float> w0a = Vector512.LoadUnsafe(ref panel);
            Vector512<float> w0b = Vector512.LoadUnsafe(ref panel, 16);
            Vector512<float> w1a = Vector512.LoadUnsafe(ref next);
            Vector512<float> w1b = Vector512.LoadUnsafe(ref next, 16);
            Vector512<float> b;

            if (TRows.Value > 0)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 0 * PackedRowStride));
                r0p0a = Vector512.FusedMultiplyAdd(b, w0a, r0p0a);
                r0p0b = Vector512.FusedMultiplyAdd(b, w0b, r0p0b);
                r0p1a = Vector512.FusedMultiplyAdd(b, w1a, r0p1a);
                r0p1b = Vector512.FusedMultiplyAdd(b, w1b, r0p1b);
            }

            if (TRows.Value > 1)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 1 * PackedRowStride));
                r1p0a = Vector512.FusedMultiplyAdd(b, w0a, r1p0a);
                r1p0b = Vector512.FusedMultiplyAdd(b, w0b, r1p0b);
                r1p1a = Vector512.FusedMultiplyAdd(b, w1a, r1p1a);
                r1p1b = Vector512.FusedMultiplyAdd(b, w1b, r1p1b);
            }

            if (TRows.Value > 2)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 2 * PackedRowStride));
                r2p0a = Vector512.FusedMultiplyAdd(b, w0a, r2p0a);
                r2p0b = Vector512.FusedMultiplyAdd(b, w0b, r2p0b);
                r2p1a = Vector512.FusedMultiplyAdd(b, w1a, r2p1a);
                r2p1b = Vector512.FusedMultiplyAdd(b, w1b, r2p1b);
            }

            if (TRows.Value > 3)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 3 * PackedRowStride));
                r3p0a = Vector512.FusedMultiplyAdd(b, w0a, r3p0a);
                r3p0b = Vector512.FusedMultiplyAdd(b, w0b, r3p0b);
                r3p1a = Vector512.FusedMultiplyAdd(b, w1a, r3p1a);
                r3p1b = Vector512.FusedMultiplyAdd(b, w1b, r3p1b);
            }

            if (TRows.Value > 4)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 4 * PackedRowStride));
                r4p0a = Vector512.FusedMultiplyAdd(b, w0a, r4p0a);
                r4p0b = Vector512.FusedMultiplyAdd(b, w0b, r4p0b);
                r4p1a = Vector512.FusedMultiplyAdd(b, w1a, r4p1a);
                r4p1b = Vector512.FusedMultiplyAdd(b, w1b, r4p1b);
            }

            if (TRows.Value > 5)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 5 * PackedRowStride));
                r5p0a = Vector512.FusedMultiplyAdd(b, w0a, r5p0a);
                r5p0b = Vector512.FusedMultiplyAdd(b, w0b, r5p0b);
                r5p1a = Vector512.FusedMultiplyAdd(b, w1a, r5p1a);
                r5p1b = Vector512.FusedMultiplyAdd(b, w1b, r5p1b);
            }

            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, PackedMatrix.PanelWidth);
            next = ref Unsafe.Add(ref next, PackedMatrix.PanelWidth);
        }

        if (TRows.Value > 0)
        {
            ref float d = ref Unsafe.Add(ref dst, 0 * ldc);
            r0p0a.StoreUnsafe(ref d);
            r0p0b.StoreUnsafe(ref d, 16);
            r0p1a.StoreUnsafe(ref d, 32);
            r0p1b.StoreUnsafe(ref d, 48);
        }

        if (TRows.Value > 1)
        {
            ref float d = ref Unsafe.Add(ref dst, 1 * ldc);
            r1p0a.StoreUnsafe(ref d);
            r1p0b.StoreUnsafe(ref d, 16);
            r1p1a.StoreUnsafe(ref d, 32);
            r1p1b.StoreUnsafe(ref d, 48);
        }

        if (TRows.Value > 2)
        {
            ref float d = ref Unsafe.Add(ref dst, 2 * ldc);
            r2p0a.StoreUnsafe(ref d);
            r2p0b.StoreUnsafe(ref d, 16);
            r2p1a.StoreUnsafe(ref d, 32);
            r2p1b.StoreUnsafe(ref d, 48);
        }

        if (TRows.Value > 3)
        {
            ref float d = ref Unsafe.Add(ref dst, 3 * ldc);
            r3p0a.StoreUnsafe(ref d);
            r3p0b.StoreUnsafe(ref d, 16);
            r3p1a.StoreUnsafe(ref d, 32);
            r3p1b.StoreUnsafe(ref d, 48);
        }

        if (TRows.Value > 4)
        {
            ref float d = ref Unsafe.Add(ref dst, 4 * ldc);
            r4p0a.StoreUnsafe(ref d);
            r4p0b.StoreUnsafe(ref d, 16);
            r4p1a.StoreUnsafe(ref d, 32);
            r4p1b.StoreUnsafe(ref d, 48);
        }

        if (TRows.Value > 5)
        {
            ref float d = ref Unsafe.Add(ref dst, 5 * ldc);
            r5p0a.StoreUnsafe(ref d);
            r5p0b.StoreUnsafe(ref d, 16);
            r5p1a.StoreUnsafe(ref d, 32);
            r5p1b.StoreUnsafe(ref d, 48);
        }

    }
}
