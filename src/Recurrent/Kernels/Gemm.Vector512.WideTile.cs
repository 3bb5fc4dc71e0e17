using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Vector512 wide micro-kernel of the blocked loops: a TRows × 64 tile of C over two consecutive full panels (p, p + 1),
// TRows ≤ 6, in TRows × 4 accumulators (WideTileAccumulators); 24 accumulators + 4 W vectors + 1 broadcast = 29 of
// the 32 zmm registers. Per kk it loads the two panels' 32 floats (4 vectors, from two streams a panel stride apart),
// broadcasts A[i, kk] once per row from the packed micro-panel and does four FMAs with it: 10 loads per 24 FMAs.
// A 12 × 32 tile of one panel (Tile512 at MR 12, the blocked loops' kernel before this one) does the same 24 FMAs with
// 14 loads, 12 of them broadcasts from 12 different cache lines; on the Ice Lake CI machine (2026-11-29, everything in
// L1) it ran at 131–142 GFLOP/s against 169–178 for this shape (the measured FMA peak is ~175). Same chains as Tile512
// (one FMA per kk, in increasing kk, from the same start), so the same bits. Unlike Tile512 it leaves the W stream to
// the hardware prefetchers: asking for each panel's lines 4 kk ahead (PrefetchPanelAhead, 4 more loads per kk) made
// L1, L3, L4, F1 1-2 % slower and L5 7 % slower (interleaved A/B, 1 thread, 2026-11-29).
// With compact (bfloat16) panels (TWeights = CompactWeights) a kk of a panel is one load of 16 lanes, shifted and masked
// into the two W vectors: 2 loads, 2 shifts and 2 masks per 24 FMAs, in 24 + 4 + 1 registers and the mask (no spills).
//
// The kk loop runs four steps per pass, their loads at constant offsets from three pointers, so a pass has 6 integer
// instructions (pointer and counter updates, the loop test) per 96 FMAs instead of 24: on Ice Lake those run on the same
// ports (0, 5) as the 512-bit FMAs whenever the scheduler puts them there. Two builds in one process (2026-11-29, layers
// in interleaved pairs, the same bits), each build timed in both slots of the harness since a slot alone moved the
// ratio by up to 2.5 %: against one step per pass, 1 thread L2 1.036×, L1 1.028×, F1 1.013×, L5 1.014×, L3 1.008×, L4
// 1.00×; 2 threads F1 1.057×, L4 1.042×, L2 1.039×, L1 1.027×. The steps that also prefetch a line of the next block of
// W come first, four per pass as well; against one at a time, no difference showed (L1, L2 0.998×, L5 0.989×).
internal static partial class Gemm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WideTileRows<TWeights>(int rows, ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
        where TWeights : struct, IWeights512
    {
        AssertRows(rows, Vector512RowBlock);
        switch (rows)
        {
            case 1:
                WideTile512<R1, TWeights>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 2:
                WideTile512<R2, TWeights>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 3:
                WideTile512<R3, TWeights>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 4:
                WideTile512<R4, TWeights>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 5:
                WideTile512<R5, TWeights>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                break;
            case 6:
                WideTile512<R6, TWeights>(ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
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
    private static void WideTile512<TRows, TWeights>(ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
        where TRows : struct, IRowCount
        where TWeights : struct, IWeights512
    {
        WideTileAccumulators c = default;
        c.Load<TRows>(ref src, srcStride);

        ref float next = ref Unsafe.Add(ref panel, panelStride);
        int kk = 0;
        for (; kk <= prefetchLines - 4; kk += 4)
        {
            PrefetchIntoL2(ref Unsafe.Add(ref prefetch, kk * 16));
            PrefetchIntoL2(ref Unsafe.Add(ref prefetch, (kk + 1) * 16));
            PrefetchIntoL2(ref Unsafe.Add(ref prefetch, (kk + 2) * 16));
            PrefetchIntoL2(ref Unsafe.Add(ref prefetch, (kk + 3) * 16));
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 0);
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 1);
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 2);
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 3);
            packedA = ref Unsafe.Add(ref packedA, 4);
            panel = ref Unsafe.Add(ref panel, 4 * (nint)TWeights.KkStride);
            next = ref Unsafe.Add(ref next, 4 * (nint)TWeights.KkStride);
        }

        for (; kk < prefetchLines; kk++)
        {
            PrefetchIntoL2(ref Unsafe.Add(ref prefetch, kk * 16));
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 0);
            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, (nint)TWeights.KkStride);
            next = ref Unsafe.Add(ref next, (nint)TWeights.KkStride);
        }

        for (; kk <= kc - 4; kk += 4)
        {
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 0);
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 1);
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 2);
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 3);
            packedA = ref Unsafe.Add(ref packedA, 4);
            panel = ref Unsafe.Add(ref panel, 4 * (nint)TWeights.KkStride);
            next = ref Unsafe.Add(ref next, 4 * (nint)TWeights.KkStride);
        }

        for (; kk < kc; kk++)
        {
            WideStep<TRows, TWeights>(ref c, ref packedA, ref panel, ref next, 0);
            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, (nint)TWeights.KkStride);
            next = ref Unsafe.Add(ref next, (nint)TWeights.KkStride);
        }

        c.Store<TRows>(ref dst, ldc);
    }

    /// <summary>Step <paramref name="kk"/> (a constant at each call) past <paramref name="a"/>, <paramref name="panel"/>
    /// and <paramref name="next"/>: the two panels' 4 W vectors, then per row one broadcast of A[i, kk] and 4 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WideStep<TRows, TWeights>(ref WideTileAccumulators c, ref float a, ref float panel, ref float next, int kk)
        where TRows : struct, IRowCount
        where TWeights : struct, IWeights512
    {
        nuint w = (nuint)kk * TWeights.KkStride;
        TWeights.Load(ref panel, w, out Vector512<float> w0a, out Vector512<float> w0b);
        TWeights.Load(ref next, w, out Vector512<float> w1a, out Vector512<float> w1b);
        if (TRows.Value > 0)
        {
            Vector512<float> b = Vector512.Create(Unsafe.Add(ref a, (0 * PackedRowStride) + kk));
            c.R0P0A = Vector512.FusedMultiplyAdd(b, w0a, c.R0P0A);
            c.R0P0B = Vector512.FusedMultiplyAdd(b, w0b, c.R0P0B);
            c.R0P1A = Vector512.FusedMultiplyAdd(b, w1a, c.R0P1A);
            c.R0P1B = Vector512.FusedMultiplyAdd(b, w1b, c.R0P1B);
        }

        if (TRows.Value > 1)
        {
            Vector512<float> b = Vector512.Create(Unsafe.Add(ref a, (1 * PackedRowStride) + kk));
            c.R1P0A = Vector512.FusedMultiplyAdd(b, w0a, c.R1P0A);
            c.R1P0B = Vector512.FusedMultiplyAdd(b, w0b, c.R1P0B);
            c.R1P1A = Vector512.FusedMultiplyAdd(b, w1a, c.R1P1A);
            c.R1P1B = Vector512.FusedMultiplyAdd(b, w1b, c.R1P1B);
        }

        if (TRows.Value > 2)
        {
            Vector512<float> b = Vector512.Create(Unsafe.Add(ref a, (2 * PackedRowStride) + kk));
            c.R2P0A = Vector512.FusedMultiplyAdd(b, w0a, c.R2P0A);
            c.R2P0B = Vector512.FusedMultiplyAdd(b, w0b, c.R2P0B);
            c.R2P1A = Vector512.FusedMultiplyAdd(b, w1a, c.R2P1A);
            c.R2P1B = Vector512.FusedMultiplyAdd(b, w1b, c.R2P1B);
        }

        if (TRows.Value > 3)
        {
            Vector512<float> b = Vector512.Create(Unsafe.Add(ref a, (3 * PackedRowStride) + kk));
            c.R3P0A = Vector512.FusedMultiplyAdd(b, w0a, c.R3P0A);
            c.R3P0B = Vector512.FusedMultiplyAdd(b, w0b, c.R3P0B);
            c.R3P1A = Vector512.FusedMultiplyAdd(b, w1a, c.R3P1A);
            c.R3P1B = Vector512.FusedMultiplyAdd(b, w1b, c.R3P1B);
        }

        if (TRows.Value > 4)
        {
            Vector512<float> b = Vector512.Create(Unsafe.Add(ref a, (4 * PackedRowStride) + kk));
            c.R4P0A = Vector512.FusedMultiplyAdd(b, w0a, c.R4P0A);
            c.R4P0B = Vector512.FusedMultiplyAdd(b, w0b, c.R4P0B);
            c.R4P1A = Vector512.FusedMultiplyAdd(b, w1a, c.R4P1A);
            c.R4P1B = Vector512.FusedMultiplyAdd(b, w1b, c.R4P1B);
        }

        if (TRows.Value > 5)
        {
            Vector512<float> b = Vector512.Create(Unsafe.Add(ref a, (5 * PackedRowStride) + kk));
            c.R5P0A = Vector512.FusedMultiplyAdd(b, w0a, c.R5P0A);
            c.R5P0B = Vector512.FusedMultiplyAdd(b, w0b, c.R5P0B);
            c.R5P1A = Vector512.FusedMultiplyAdd(b, w1a, c.R5P1A);
            c.R5P1B = Vector512.FusedMultiplyAdd(b, w1b, c.R5P1B);
        }
    }

    /// <summary>The wide tile's accumulators, R{row}P{panel}{vector}: vector A = the panel's columns 0..15, B = 16..31.
    /// A local of this type lives in registers (the JIT promotes its fields; no stack traffic in the kk loop) as long as
    /// nothing between its load and its store is a call: every zmm register is caller-saved, so one call (a thread-static
    /// read is one) made the JIT keep all 24 on the stack, at half the speed (measured 2026-11-29).</summary>
    private struct WideTileAccumulators
    {
        public Vector512<float> R0P0A, R0P0B, R0P1A, R0P1B;
        public Vector512<float> R1P0A, R1P0B, R1P1A, R1P1B;
        public Vector512<float> R2P0A, R2P0B, R2P1A, R2P1B;
        public Vector512<float> R3P0A, R3P0B, R3P1A, R3P1B;
        public Vector512<float> R4P0A, R4P0B, R4P1A, R4P1B;
        public Vector512<float> R5P0A, R5P0B, R5P1A, R5P1B;

        /// <summary>Row i of the first TRows rows from <c>src[i * srcStride .. +64]</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Load<TRows>(ref float src, nint srcStride)
            where TRows : struct, IRowCount
        {
            if (TRows.Value > 0)
            {
                (R0P0A, R0P0B, R0P1A, R0P1B) = LoadRow(ref Unsafe.Add(ref src, 0 * srcStride));
            }

            if (TRows.Value > 1)
            {
                (R1P0A, R1P0B, R1P1A, R1P1B) = LoadRow(ref Unsafe.Add(ref src, 1 * srcStride));
            }

            if (TRows.Value > 2)
            {
                (R2P0A, R2P0B, R2P1A, R2P1B) = LoadRow(ref Unsafe.Add(ref src, 2 * srcStride));
            }

            if (TRows.Value > 3)
            {
                (R3P0A, R3P0B, R3P1A, R3P1B) = LoadRow(ref Unsafe.Add(ref src, 3 * srcStride));
            }

            if (TRows.Value > 4)
            {
                (R4P0A, R4P0B, R4P1A, R4P1B) = LoadRow(ref Unsafe.Add(ref src, 4 * srcStride));
            }

            if (TRows.Value > 5)
            {
                (R5P0A, R5P0B, R5P1A, R5P1B) = LoadRow(ref Unsafe.Add(ref src, 5 * srcStride));
            }
        }

        /// <summary>Row i of the first TRows rows to <c>dst[i * ldc .. +64]</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store<TRows>(ref float dst, nint ldc)
            where TRows : struct, IRowCount
        {
            if (TRows.Value > 0)
            {
                StoreRow(R0P0A, R0P0B, R0P1A, R0P1B, ref Unsafe.Add(ref dst, 0 * ldc));
            }

            if (TRows.Value > 1)
            {
                StoreRow(R1P0A, R1P0B, R1P1A, R1P1B, ref Unsafe.Add(ref dst, 1 * ldc));
            }

            if (TRows.Value > 2)
            {
                StoreRow(R2P0A, R2P0B, R2P1A, R2P1B, ref Unsafe.Add(ref dst, 2 * ldc));
            }

            if (TRows.Value > 3)
            {
                StoreRow(R3P0A, R3P0B, R3P1A, R3P1B, ref Unsafe.Add(ref dst, 3 * ldc));
            }

            if (TRows.Value > 4)
            {
                StoreRow(R4P0A, R4P0B, R4P1A, R4P1B, ref Unsafe.Add(ref dst, 4 * ldc));
            }

            if (TRows.Value > 5)
            {
                StoreRow(R5P0A, R5P0B, R5P1A, R5P1B, ref Unsafe.Add(ref dst, 5 * ldc));
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector512<float> P0A, Vector512<float> P0B, Vector512<float> P1A, Vector512<float> P1B) LoadRow(ref float s) =>
            (Vector512.LoadUnsafe(ref s), Vector512.LoadUnsafe(ref s, 16), Vector512.LoadUnsafe(ref s, 32), Vector512.LoadUnsafe(ref s, 48));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreRow(Vector512<float> p0a, Vector512<float> p0b, Vector512<float> p1a, Vector512<float> p1b, ref float d)
        {
            p0a.StoreUnsafe(ref d);
            p0b.StoreUnsafe(ref d, 16);
            p1a.StoreUnsafe(ref d, 32);
            p1b.StoreUnsafe(ref d, 48);
        }
    }
}
