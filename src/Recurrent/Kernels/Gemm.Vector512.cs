using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

// Vector512 path of Gemm.
// Lane layout. A panel row (32 packed W floats for one kk) is two zmm registers: w0 = columns 0..15, w1 = 16..31 of
// the panel. The blocked loops run pairs of full panels through the wide tile (Gemm.Vector512.WideTile.cs: MR = 6 rows
// × 64 columns). This file's micro-kernel covers one panel: a TRows × 32 tile of C (TRows ≤ MR) as 2·TRows
// accumulators (row i: c{i}a = columns 0..15, c{i}b = 16..31); per kk it loads w0, w1 once and, for each row,
// broadcasts A[i, kk] from the packed micro-panel and does two FMAs. It serves a block's odd last panel and the partial
// last panel of W. Row tails use the same generic kernel instantiated for fewer rows (TRows is a compile-time constant,
// so the JIT drops the unused accumulators). The partial last panel runs it instantiated with masked loads and stores
// of C (TPanel), so it reads and writes only the valid columns; the zero padding of the last panel makes the extra
// lanes harmless. Without AVX-512 (Vector512 emulated) the caller uses a 32-wide scratch tile instead.
//
// Row kernel (m ≤ 2): 4 consecutive panels at once with unpacked A, 8 accumulators per row (16 for m = 2), so even
// batch 1 has 8 independent FMA chains while W streams through at 512 bytes per kk from 4 sequential streams.
// Row-pair kernel (m = 3, 4): 2 panels at once, 4 accumulators per row (12 or 16 chains, 256 bytes of W per kk): the
// blocked 3- and 4-row tiles have only 6 or 8 chains, too few to keep up with W streaming from L2 at batch 3–4.
//
// Exactness. Each accumulator lane is one C element; it starts from its bias / 0 / C value and receives, in
// increasing kk, one fused multiply-add FMA(A[i,kk], W[j,kk], acc) per step — the scalar definition evaluated
// left to right with one rounding per step (and the same chain in the tile and the row kernel). If Vector512 is not
// hardware-accelerated the runtime emulates these operations element-wise with the same results, so tests run this
// path on any machine. There are no bounds checks: the caller (Gemm.Run) validated the spans, and every access
// stays within the rows × kc / rows × 32 ranges it describes.
internal static partial class Gemm
{
    /// <summary>MR of the Vector512 path: rows of the wide tile (<see cref="WideTile512"/>) and at most those of
    /// <see cref="Tile512"/>.</summary>
    internal const int Vector512RowBlock = 6;

    private readonly struct Vector512Kernel : IGemmKernel
    {
        public static int RowBlock => Vector512RowBlock;

        public static bool HasWideTile => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void WideTile(int rows, ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => WideTileRows<FloatWeights>(rows, ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);

        public static int CompactBlockPanels => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void CompactWideTile(int rows, ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => WideTileRows<CompactWeights>(rows, ref packedA, ref panel, panelStride, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);

        public static int RowKernelPanels(int rows, long weightBytes) => rows <= 2 ? 4 : rows <= 4 ? 2 : 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Tile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => TileRows<FullPanel>(rows, ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines, PackedMatrix.PanelWidth);

        public static bool MasksPartialPanels => Avx512F.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void PartialTile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, int columns)
        {
            if (columns <= 16)
            {
                TileRows<NarrowPanel>(rows, ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref dst, 0, columns);
            }
            else
            {
                TileRows<PartialPanel>(rows, ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref dst, 0, columns);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TileRows<TPanel>(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines, int columns)
            where TPanel : struct, IPanelColumns
        {
            AssertRows(rows, Vector512RowBlock);
            switch (rows)
            {
                case 1:
                    Tile512<R1, TPanel>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines, columns);
                    break;
                case 2:
                    Tile512<R2, TPanel>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines, columns);
                    break;
                case 3:
                    Tile512<R3, TPanel>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines, columns);
                    break;
                case 4:
                    Tile512<R4, TPanel>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines, columns);
                    break;
                case 5:
                    Tile512<R5, TPanel>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines, columns);
                    break;
                case 6:
                    Tile512<R6, TPanel>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines, columns);
                    break;
                default:
                    throw new UnreachableException();
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RowTile(int rows, ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
            => RowTiles<FloatWeights>(rows, ref a, lda, ref panel, panelStride, k, ref src, srcStride, ref dst, ldc);

        public static int CompactRowKernelPanels(int rows, long weightBytes) => RowKernelPanels(rows, weightBytes);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void CompactRowTile(int rows, ref float a, nint lda, ref ushort panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
            => RowTiles<CompactWeights>(rows, ref a, lda, ref Unsafe.As<ushort, float>(ref panel), panelStride / 2, k, ref src, srcStride, ref dst, ldc);

        /// <summary>The row kernels over float or compact panels (<paramref name="panelStride"/> in floats: for compact
        /// panels, two values to a float).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void RowTiles<TWeights>(int rows, ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
            where TWeights : struct, IWeights512
        {
            AssertRows(rows, 4);
            switch (rows)
            {
                case 1:
                    RowTile512<R1, TWeights>(ref a, lda, ref panel, panelStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                case 2:
                    RowTile512<R2, TWeights>(ref a, lda, ref panel, panelStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                case 3:
                    RowPairTile512<R3, TWeights>(ref a, lda, ref panel, panelStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                case 4:
                    RowPairTile512<R4, TWeights>(ref a, lda, ref panel, panelStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                default:
                    throw new UnreachableException();
            }
        }
    }


    /// <summary>How the row kernels read one kk of a panel: 32 weights as two vectors (columns 0..15 and 16..31), from
    /// <c>offset</c> floats past the panel's start, advancing <see cref="KkStride"/> floats a kk. The kernels are
    /// instantiated per struct, so the loads are inlined.</summary>
    private interface IWeights512
    {
        static abstract nuint KkStride { get; }

        static abstract void Load(ref float panel, nuint offset, out Vector512<float> low, out Vector512<float> high);
    }

    /// <summary>Float panels: two loads.</summary>
    private readonly struct FloatWeights : IWeights512
    {
        public static nuint KkStride => PackedMatrix.PanelWidth;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(ref float panel, nuint offset, out Vector512<float> low, out Vector512<float> high)
        {
            low = Vector512.LoadUnsafe(ref panel, offset);
            high = Vector512.LoadUnsafe(ref panel, offset + 16);
        }
    }

    /// <summary>Compact panels (<see cref="PackedMatrix.ToCompact"/>): one load of 16 lanes, each holding columns j and 16 + j
    /// as bfloat16; shifted up 16 bits they are column j's floats, masked column 16 + j's. Half the bytes of a float kk.</summary>
    private readonly struct CompactWeights : IWeights512
    {
        public static nuint KkStride => PackedMatrix.PanelWidth / 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(ref float panel, nuint offset, out Vector512<float> low, out Vector512<float> high)
        {
            Vector512<uint> lanes = Vector512.LoadUnsafe(ref Unsafe.As<float, uint>(ref panel), offset);
            low = Vector512.ShiftLeft(lanes, 16).AsSingle();
            high = (lanes & Vector512.Create(0xFFFF0000u)).AsSingle();
        }
    }

    /// <summary>Vector512 micro-kernel: a TRows × 32 tile of C in TRows × 2 accumulators (c{row}{vector}).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile512<TRows, TPanel>(ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines, int columns)
        where TRows : struct, IRowCount
        where TPanel : struct, IPanelColumns
    {
        // A partial panel reads and writes only C's first `columns` columns (masked; lanes past them start at 0).
        Vector512<float> maskA = default, maskB = default;
        if (TPanel.Partial)
        {
            maskA = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(columns)).AsSingle();
            maskB = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(columns - 16)).AsSingle();
        }

        Vector512<float> c0a = default, c0b = default;
        Vector512<float> c1a = default, c1b = default;
        Vector512<float> c2a = default, c2b = default;
        Vector512<float> c3a = default, c3b = default;
        Vector512<float> c4a = default, c4b = default;
        Vector512<float> c5a = default, c5b = default;

        // Initial tile: bias row (srcStride 0), zeros, or C.
        if (TRows.Value > 0)
        {
            ref float s = ref src;
            c0a = LoadPart<TPanel>(ref s, 0, maskA);
            c0b = LoadPart<TPanel>(ref s, 16, maskB);
        }

        if (TRows.Value > 1)
        {
            ref float s = ref Unsafe.Add(ref src, srcStride);
            c1a = LoadPart<TPanel>(ref s, 0, maskA);
            c1b = LoadPart<TPanel>(ref s, 16, maskB);
        }

        if (TRows.Value > 2)
        {
            ref float s = ref Unsafe.Add(ref src, 2 * srcStride);
            c2a = LoadPart<TPanel>(ref s, 0, maskA);
            c2b = LoadPart<TPanel>(ref s, 16, maskB);
        }

        if (TRows.Value > 3)
        {
            ref float s = ref Unsafe.Add(ref src, 3 * srcStride);
            c3a = LoadPart<TPanel>(ref s, 0, maskA);
            c3b = LoadPart<TPanel>(ref s, 16, maskB);
        }

        if (TRows.Value > 4)
        {
            ref float s = ref Unsafe.Add(ref src, 4 * srcStride);
            c4a = LoadPart<TPanel>(ref s, 0, maskA);
            c4b = LoadPart<TPanel>(ref s, 16, maskB);
        }

        if (TRows.Value > 5)
        {
            ref float s = ref Unsafe.Add(ref src, 5 * srcStride);
            c5a = LoadPart<TPanel>(ref s, 0, maskA);
            c5b = LoadPart<TPanel>(ref s, 16, maskB);
        }

        for (int kk = 0; kk < kc; kk++)
        {
            if (kk < prefetchLines)
            {
                PrefetchIntoL2(ref Unsafe.Add(ref prefetch, kk * 16));
            }

            PrefetchPanelAhead(ref panel);
            Vector512<float> w0 = Vector512.LoadUnsafe(ref panel);
            Vector512<float> w1 = TPanel.Narrow ? default : Vector512.LoadUnsafe(ref panel, 16);
            Vector512<float> b = Vector512.Create(packedA);
            c0a = Vector512.FusedMultiplyAdd(b, w0, c0a);
            c0b = UpperHalf<TPanel>(b, w1, c0b);
            if (TRows.Value > 1)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 1 * PackedRowStride));
                c1a = Vector512.FusedMultiplyAdd(b, w0, c1a);
                c1b = UpperHalf<TPanel>(b, w1, c1b);
            }

            if (TRows.Value > 2)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 2 * PackedRowStride));
                c2a = Vector512.FusedMultiplyAdd(b, w0, c2a);
                c2b = UpperHalf<TPanel>(b, w1, c2b);
            }

            if (TRows.Value > 3)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 3 * PackedRowStride));
                c3a = Vector512.FusedMultiplyAdd(b, w0, c3a);
                c3b = UpperHalf<TPanel>(b, w1, c3b);
            }

            if (TRows.Value > 4)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 4 * PackedRowStride));
                c4a = Vector512.FusedMultiplyAdd(b, w0, c4a);
                c4b = UpperHalf<TPanel>(b, w1, c4b);
            }

            if (TRows.Value > 5)
            {
                b = Vector512.Create(Unsafe.Add(ref packedA, 5 * PackedRowStride));
                c5a = Vector512.FusedMultiplyAdd(b, w0, c5a);
                c5b = UpperHalf<TPanel>(b, w1, c5b);
            }

            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, PackedMatrix.PanelWidth);
        }

        if (TRows.Value > 0)
        {
            ref float d = ref dst;
            StorePart<TPanel>(c0a, ref d, 0, maskA);
            StorePart<TPanel>(c0b, ref d, 16, maskB);
        }

        if (TRows.Value > 1)
        {
            ref float d = ref Unsafe.Add(ref dst, ldc);
            StorePart<TPanel>(c1a, ref d, 0, maskA);
            StorePart<TPanel>(c1b, ref d, 16, maskB);
        }

        if (TRows.Value > 2)
        {
            ref float d = ref Unsafe.Add(ref dst, 2 * ldc);
            StorePart<TPanel>(c2a, ref d, 0, maskA);
            StorePart<TPanel>(c2b, ref d, 16, maskB);
        }

        if (TRows.Value > 3)
        {
            ref float d = ref Unsafe.Add(ref dst, 3 * ldc);
            StorePart<TPanel>(c3a, ref d, 0, maskA);
            StorePart<TPanel>(c3b, ref d, 16, maskB);
        }

        if (TRows.Value > 4)
        {
            ref float d = ref Unsafe.Add(ref dst, 4 * ldc);
            StorePart<TPanel>(c4a, ref d, 0, maskA);
            StorePart<TPanel>(c4b, ref d, 16, maskB);
        }

        if (TRows.Value > 5)
        {
            ref float d = ref Unsafe.Add(ref dst, 5 * ldc);
            StorePart<TPanel>(c5a, ref d, 0, maskA);
            StorePart<TPanel>(c5b, ref d, 16, maskB);
        }

    }

    /// <summary>The 16 floats of C at <paramref name="offset"/> from <paramref name="row"/>: a plain load for a full panel;
    /// for a partial one, only the lanes of <paramref name="mask"/> (the others 0, their memory not touched).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> LoadPart<TPanel>(ref float row, nint offset, Vector512<float> mask)
        where TPanel : struct, IPanelColumns
    {
        if (TPanel.Narrow && offset != 0)
        {
            return Vector512<float>.Zero;
        }

        if (TPanel.Partial && Avx512F.IsSupported)
        {
            fixed (float* at = &Unsafe.Add(ref row, offset))
            {
                return Avx512F.MaskLoad(at, mask, Vector512<float>.Zero);
            }
        }

        return Vector512.LoadUnsafe(ref row, (nuint)offset);
    }

    /// <summary>The FMA of the upper 16 columns of a tile row; none for a narrow panel (≤ 16 columns), whose upper
    /// half is never loaded, computed or stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> UpperHalf<TPanel>(Vector512<float> a, Vector512<float> w, Vector512<float> accumulator)
        where TPanel : struct, IPanelColumns
        => TPanel.Narrow ? accumulator : Vector512.FusedMultiplyAdd(a, w, accumulator);

    /// <summary>Stores 16 floats of C at <paramref name="offset"/> from <paramref name="row"/>, for a partial panel only
    /// the lanes of <paramref name="mask"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StorePart<TPanel>(Vector512<float> value, ref float row, nint offset, Vector512<float> mask)
        where TPanel : struct, IPanelColumns
    {
        if (TPanel.Narrow && offset != 0)
        {
            return;
        }

        if (TPanel.Partial && Avx512F.IsSupported)
        {
            fixed (float* at = &Unsafe.Add(ref row, offset))
            {
                Avx512F.MaskStore(at, mask, value);
            }

            return;
        }

        value.StoreUnsafe(ref row, (nuint)offset);
    }

    /// <summary>
    /// Asks for the panel's 32 floats <see cref="PrefetchAheadFloats"/> ahead (4 kk) to be brought into L1: the KC × 32
    /// slice streams from L2 (see <see cref="BlockNBytes"/>), and the hardware prefetchers alone left the micro-kernel
    /// waiting. Measured on the Ice Lake CI machines (2026-11-28): 6–8 % faster on m × k × n = 64 × 256 × 1024,
    /// 1600 × 512 × 2048, 2400 × 256 × 1024 and 64 × 1024 × 4096 than without; 8 kk ahead was no better. The address
    /// is formed as a pointer, not a reference (it may lie past the packed data, which a prefetch never faults on), and
    /// the packed data is pinned. Only x86 has the instruction; elsewhere this is nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchPanelAhead(ref float panel)
    {
        if (Sse.IsSupported)
        {
            float* ahead = (float*)Unsafe.AsPointer(ref panel) + PrefetchAheadFloats;
            Sse.Prefetch0(ahead);
            Sse.Prefetch0(ahead + 16);
        }
    }

    /// <summary>Asks for the cache line at <paramref name="line"/> to be brought into L2 (see
    /// <see cref="Gemm.PrefetchWeightsFromBytes"/>); pointer-based and x86-only like <see cref="PrefetchPanelAhead"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchIntoL2(ref float line)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch1(Unsafe.AsPointer(ref line));
        }
    }

    /// <summary>How far ahead <see cref="PrefetchPanelAhead"/> reaches: 4 kk of a panel (512 bytes).</summary>
    private const int PrefetchAheadFloats = 4 * PackedMatrix.PanelWidth;

    /// <summary>Vector512 row kernel: TRows rows × 4 panels, unpacked A, whole k; accumulators r{row}p{panel}{vector}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTile512<TRows, TWeights>(ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        where TRows : struct, IRowCount
        where TWeights : struct, IWeights512
    {
        Vector512<float> r0p0a = default, r0p0b = default;
        Vector512<float> r0p1a = default, r0p1b = default;
        Vector512<float> r0p2a = default, r0p2b = default;
        Vector512<float> r0p3a = default, r0p3b = default;
        Vector512<float> r1p0a = default, r1p0b = default;
        Vector512<float> r1p1a = default, r1p1b = default;
        Vector512<float> r1p2a = default, r1p2b = default;
        Vector512<float> r1p3a = default, r1p3b = default;

        ref float w1 = ref Unsafe.Add(ref panel, panelStride);
        ref float w2 = ref Unsafe.Add(ref panel, 2 * panelStride);
        ref float w3 = ref Unsafe.Add(ref panel, 3 * panelStride);
        ref float a0 = ref a;
        ref float a1 = ref a;

        if (TRows.Value > 0)
        {
            ref float s = ref src;
            r0p0a = Vector512.LoadUnsafe(ref s);
            r0p0b = Vector512.LoadUnsafe(ref s, 16);
            r0p1a = Vector512.LoadUnsafe(ref s, 32);
            r0p1b = Vector512.LoadUnsafe(ref s, 48);
            r0p2a = Vector512.LoadUnsafe(ref s, 64);
            r0p2b = Vector512.LoadUnsafe(ref s, 80);
            r0p3a = Vector512.LoadUnsafe(ref s, 96);
            r0p3b = Vector512.LoadUnsafe(ref s, 112);
        }

        if (TRows.Value > 1)
        {
            a1 = ref Unsafe.Add(ref a, lda);
            ref float s = ref Unsafe.Add(ref src, srcStride);
            r1p0a = Vector512.LoadUnsafe(ref s);
            r1p0b = Vector512.LoadUnsafe(ref s, 16);
            r1p1a = Vector512.LoadUnsafe(ref s, 32);
            r1p1b = Vector512.LoadUnsafe(ref s, 48);
            r1p2a = Vector512.LoadUnsafe(ref s, 64);
            r1p2b = Vector512.LoadUnsafe(ref s, 80);
            r1p3a = Vector512.LoadUnsafe(ref s, 96);
            r1p3b = Vector512.LoadUnsafe(ref s, 112);
        }

        nuint offset = 0;
        for (int kk = 0; kk < k; kk++)
        {
            Vector512<float> b0 = Vector512.Create(Unsafe.Add(ref a0, kk));
            Vector512<float> b1 = TRows.Value > 1 ? Vector512.Create(Unsafe.Add(ref a1, kk)) : default;
            TWeights.Load(ref panel, offset, out Vector512<float> w0a, out Vector512<float> w0b);
            r0p0a = Vector512.FusedMultiplyAdd(b0, w0a, r0p0a);
            r0p0b = Vector512.FusedMultiplyAdd(b0, w0b, r0p0b);
            if (TRows.Value > 1)
            {
                r1p0a = Vector512.FusedMultiplyAdd(b1, w0a, r1p0a);
                r1p0b = Vector512.FusedMultiplyAdd(b1, w0b, r1p0b);
            }

            TWeights.Load(ref w1, offset, out Vector512<float> w1a, out Vector512<float> w1b);
            r0p1a = Vector512.FusedMultiplyAdd(b0, w1a, r0p1a);
            r0p1b = Vector512.FusedMultiplyAdd(b0, w1b, r0p1b);
            if (TRows.Value > 1)
            {
                r1p1a = Vector512.FusedMultiplyAdd(b1, w1a, r1p1a);
                r1p1b = Vector512.FusedMultiplyAdd(b1, w1b, r1p1b);
            }

            TWeights.Load(ref w2, offset, out Vector512<float> w2a, out Vector512<float> w2b);
            r0p2a = Vector512.FusedMultiplyAdd(b0, w2a, r0p2a);
            r0p2b = Vector512.FusedMultiplyAdd(b0, w2b, r0p2b);
            if (TRows.Value > 1)
            {
                r1p2a = Vector512.FusedMultiplyAdd(b1, w2a, r1p2a);
                r1p2b = Vector512.FusedMultiplyAdd(b1, w2b, r1p2b);
            }

            TWeights.Load(ref w3, offset, out Vector512<float> w3a, out Vector512<float> w3b);
            r0p3a = Vector512.FusedMultiplyAdd(b0, w3a, r0p3a);
            r0p3b = Vector512.FusedMultiplyAdd(b0, w3b, r0p3b);
            if (TRows.Value > 1)
            {
                r1p3a = Vector512.FusedMultiplyAdd(b1, w3a, r1p3a);
                r1p3b = Vector512.FusedMultiplyAdd(b1, w3b, r1p3b);
            }

            offset += TWeights.KkStride;
        }

        if (TRows.Value > 0)
        {
            ref float d = ref dst;
            r0p0a.StoreUnsafe(ref d);
            r0p0b.StoreUnsafe(ref d, 16);
            r0p1a.StoreUnsafe(ref d, 32);
            r0p1b.StoreUnsafe(ref d, 48);
            r0p2a.StoreUnsafe(ref d, 64);
            r0p2b.StoreUnsafe(ref d, 80);
            r0p3a.StoreUnsafe(ref d, 96);
            r0p3b.StoreUnsafe(ref d, 112);
        }

        if (TRows.Value > 1)
        {
            ref float d = ref Unsafe.Add(ref dst, ldc);
            r1p0a.StoreUnsafe(ref d);
            r1p0b.StoreUnsafe(ref d, 16);
            r1p1a.StoreUnsafe(ref d, 32);
            r1p1b.StoreUnsafe(ref d, 48);
            r1p2a.StoreUnsafe(ref d, 64);
            r1p2b.StoreUnsafe(ref d, 80);
            r1p3a.StoreUnsafe(ref d, 96);
            r1p3b.StoreUnsafe(ref d, 112);
        }
    }

    /// <summary>Vector512 row-pair kernel: TRows (3 or 4) rows × 2 panels, unpacked A, whole k; accumulators r{row}p{panel}{vector}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowPairTile512<TRows, TWeights>(ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        where TRows : struct, IRowCount
        where TWeights : struct, IWeights512
    {
        Debug.Assert(TRows.Value is 3 or 4, "The row-pair kernel covers 3 or 4 rows.");
        ref float w1 = ref Unsafe.Add(ref panel, panelStride);
        ref float a0 = ref a;
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float a3 = ref TRows.Value > 3 ? ref Unsafe.Add(ref a, 3 * lda) : ref a;

        ref float s0 = ref src;
        ref float s1 = ref Unsafe.Add(ref src, srcStride);
        ref float s2 = ref Unsafe.Add(ref src, 2 * srcStride);
        Vector512<float> r0p0a = Vector512.LoadUnsafe(ref s0), r0p0b = Vector512.LoadUnsafe(ref s0, 16);
        Vector512<float> r0p1a = Vector512.LoadUnsafe(ref s0, 32), r0p1b = Vector512.LoadUnsafe(ref s0, 48);
        Vector512<float> r1p0a = Vector512.LoadUnsafe(ref s1), r1p0b = Vector512.LoadUnsafe(ref s1, 16);
        Vector512<float> r1p1a = Vector512.LoadUnsafe(ref s1, 32), r1p1b = Vector512.LoadUnsafe(ref s1, 48);
        Vector512<float> r2p0a = Vector512.LoadUnsafe(ref s2), r2p0b = Vector512.LoadUnsafe(ref s2, 16);
        Vector512<float> r2p1a = Vector512.LoadUnsafe(ref s2, 32), r2p1b = Vector512.LoadUnsafe(ref s2, 48);
        Vector512<float> r3p0a = default, r3p0b = default, r3p1a = default, r3p1b = default;
        if (TRows.Value > 3)
        {
            ref float s3 = ref Unsafe.Add(ref src, 3 * srcStride);
            r3p0a = Vector512.LoadUnsafe(ref s3);
            r3p0b = Vector512.LoadUnsafe(ref s3, 16);
            r3p1a = Vector512.LoadUnsafe(ref s3, 32);
            r3p1b = Vector512.LoadUnsafe(ref s3, 48);
        }

        nuint offset = 0;
        for (int kk = 0; kk < k; kk++)
        {
            TWeights.Load(ref panel, offset, out Vector512<float> w0a, out Vector512<float> w0b);
            TWeights.Load(ref w1, offset, out Vector512<float> w1a, out Vector512<float> w1b);

            Vector512<float> b = Vector512.Create(Unsafe.Add(ref a0, kk));
            r0p0a = Vector512.FusedMultiplyAdd(b, w0a, r0p0a);
            r0p0b = Vector512.FusedMultiplyAdd(b, w0b, r0p0b);
            r0p1a = Vector512.FusedMultiplyAdd(b, w1a, r0p1a);
            r0p1b = Vector512.FusedMultiplyAdd(b, w1b, r0p1b);

            b = Vector512.Create(Unsafe.Add(ref a1, kk));
            r1p0a = Vector512.FusedMultiplyAdd(b, w0a, r1p0a);
            r1p0b = Vector512.FusedMultiplyAdd(b, w0b, r1p0b);
            r1p1a = Vector512.FusedMultiplyAdd(b, w1a, r1p1a);
            r1p1b = Vector512.FusedMultiplyAdd(b, w1b, r1p1b);

            b = Vector512.Create(Unsafe.Add(ref a2, kk));
            r2p0a = Vector512.FusedMultiplyAdd(b, w0a, r2p0a);
            r2p0b = Vector512.FusedMultiplyAdd(b, w0b, r2p0b);
            r2p1a = Vector512.FusedMultiplyAdd(b, w1a, r2p1a);
            r2p1b = Vector512.FusedMultiplyAdd(b, w1b, r2p1b);

            if (TRows.Value > 3)
            {
                b = Vector512.Create(Unsafe.Add(ref a3, kk));
                r3p0a = Vector512.FusedMultiplyAdd(b, w0a, r3p0a);
                r3p0b = Vector512.FusedMultiplyAdd(b, w0b, r3p0b);
                r3p1a = Vector512.FusedMultiplyAdd(b, w1a, r3p1a);
                r3p1b = Vector512.FusedMultiplyAdd(b, w1b, r3p1b);
            }

            offset += TWeights.KkStride;
        }

        ref float d0 = ref dst;
        ref float d1 = ref Unsafe.Add(ref dst, ldc);
        ref float d2 = ref Unsafe.Add(ref dst, 2 * ldc);
        r0p0a.StoreUnsafe(ref d0);
        r0p0b.StoreUnsafe(ref d0, 16);
        r0p1a.StoreUnsafe(ref d0, 32);
        r0p1b.StoreUnsafe(ref d0, 48);
        r1p0a.StoreUnsafe(ref d1);
        r1p0b.StoreUnsafe(ref d1, 16);
        r1p1a.StoreUnsafe(ref d1, 32);
        r1p1b.StoreUnsafe(ref d1, 48);
        r2p0a.StoreUnsafe(ref d2);
        r2p0b.StoreUnsafe(ref d2, 16);
        r2p1a.StoreUnsafe(ref d2, 32);
        r2p1b.StoreUnsafe(ref d2, 48);
        if (TRows.Value > 3)
        {
            ref float d3 = ref Unsafe.Add(ref dst, 3 * ldc);
            r3p0a.StoreUnsafe(ref d3);
            r3p0b.StoreUnsafe(ref d3, 16);
            r3p1a.StoreUnsafe(ref d3, 32);
            r3p1b.StoreUnsafe(ref d3, 48);
        }
    }
}
