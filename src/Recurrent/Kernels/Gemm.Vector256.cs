using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Vector256 path of Gemm.
// Lane layout. A panel row (32 packed W floats for one kk) is four ymm registers w0..w3 (columns 0–7, 8–15,
// 16–23, 24–31). The micro-kernel keeps an MR × 32 tile of C as 4·MR accumulators (row i: c{i}a..c{i}d).
// MR = 3: 12 accumulators, the 3 rows' broadcasts and one W vector at a time fill AVX2's 16 ymm registers exactly
// (the step runs column by column: each W vector is loaded once and used by the 3 rows). Holding four W vectors
// instead made the JIT spill an accumulator, whose store and reload through the stack then sat on its FMA chain
// every step: 40 GFLOP/s against 80–88 on the Zen 3 CI machine of 2026-11-29 (peak 97). Row tails use the same
// generic kernel for fewer rows; column tails go through a 32-wide scratch tile in the caller (the last panel's
// zero padding keeps the extra columns finite).
//
// Large W (Gemm.PrefetchWeightsFromBytes): the tile's first prefetchLines steps each ask for one line of the next NC
// block of W into L2, as on the Vector512 path. Measured on the Zen 3 machine (2026-11-29, two builds in one process,
// both slot orders, geometric mean): L1 1.052×, L2 1.047×, L4 1.028×, L5 1.028×, 64 × 1024 × 4096 1.035× as fast. The
// Vector512 path's other prefetch, of the panel 4 kk ahead into L1, is not used here: with it as well L4 and L5 ran at
// 0.90× and 0.87×.
//
// Compact (bfloat16) panels in the blocked loops: the same tile with each W vector loaded and widened as it is used
// (CompactWeights256.LoadVector; see Tile256 for how it stays in 16 registers).
//
// Row kernel (m = 1): 2 panels at once, 8 independent accumulator chains. With compact (bfloat16) panels it reads them
// directly, widening each kk's 32 values in registers (two loads, two shifts, two masks), so a batch-1 step reads half
// the bytes. Widening slices into an L1 buffer instead (Gemm.Compact.cs, what this path did before) made the suite's
// batch-1 shapes 1.5–1.75× slower than with float weights (Zen 5 machine with DOTNET_EnableAVX512=0, 2026-12-02: a
// slice of 48 kk × 4 panels per call of the float kernel, whose fixed cost outweighed the bytes saved).
// Four-row kernel (m = 4, W up to MultiRowMaxWeightBytes): 3 panels at once in passes of 24 columns, 12 chains; each
// line of W comes from where W lives (L3 for S2) once a call, and a later pass that shares the line reads it from L1 or
// L2. The blocked loops would run m = 4 as two 2-row tiles of 8 chains each, each streaming W: 4 × 256 × 1024 (S2's
// recurrent product) took 45 µs there, half the FMA peak. Measured on the Zen 3 machine (2026-11-30, two builds in one
// process): 4 × 256 × 1024 1.12–1.15×, 4 × 512 × 2048 1.16–1.27×, 4 × 256 × 256 1.06–1.12×, LSTM 256, batch 4, 150 steps
// (S2) 1.09× on 1 thread, 1.07× on 2.
// Two-row kernel (m = 2, the same limit): 3 panels at once in passes of 48 columns, each step column by column, 12
// chains where the blocked loops' 2-row tile has 8. Measured the same way: 2 × 512 × 2048 1.12×, 2 × 256 × 256 1.07×,
// 2 × 256 × 1024 0.98× (W from L3 bounds both there), LSTM 512 at batch 2 1.10×, LSTM 256 1.02×, GRU 256 1.03×.
// Both are the fallback now for float W: a layer run at batch 2 or more gives W_hh column vectors first
// (Gemm.PrepareColumnVectors), and products of 2, 3 and 4 rows read those instead (up to Gemm.ColumnVectorsMaxWeightBytes
// of W), as do larger ones 4 rows at a time (Gemm.ColumnVectorBlocksFromBytes; Gemm.Vector256.ColumnVectors.cs). Compact
// W has no column vectors: its products of 2 to 4 rows run these kernels over the compact panels, at any size
// (Gemm.Vector256.CompactRows.cs).
//
// Exactness. Each accumulator lane is one C element: bias / 0 / C, then one fused multiply-add per kk in increasing
// order — the scalar definition with one rounding per step, identical in tile and row kernel. Works (emulated) when
// Vector256 is not accelerated. No bounds checks: Gemm.Run validated the spans.
internal static partial class Gemm
{
    /// <summary>MR of the Vector256 path.</summary>
    internal const int Vector256RowBlock = 3;

    /// <summary>
    /// <see cref="IGemmKernel.BlockNBytes"/> of the Vector256 path: half the default, for the 512 KiB L2 of AVX2 machines
    /// such as Zen 3, where a 256 KiB block of W, the next one being prefetched and the packed block of A overflowed L2.
    /// </summary>
    internal const int Vector256BlockNBytes = 128 * 1024;

    /// <summary>
    /// The most float W (in the product's panel range) that a 2- or 4-row product without column vectors runs through
    /// <see cref="RowTileTwoRows256"/> or <see cref="RowTileFourRows256"/>; larger W goes through the blocked loops,
    /// whose tiles prefetch each next block of W (with column vectors, W up to
    /// <see cref="ColumnVectorsMaxWeightBytes"/> runs through Gemm.Vector256.ColumnVectors.cs). Their passes read W in
    /// strips of separate panels, which the hardware prefetchers follow poorly once W leaves L2 and the near L3: on the
    /// Zen 3 machine (2026-11-30) 4 × 1024 × 2048 and 4 × 512 × 4096 (8 MiB) ran at 0.50–0.58× the blocked loops, 4 ×
    /// 1024 × 4096 (16 MiB) at 0.61×, while 4 MiB gained; 2 × 1024 × 2048 and 2 × 1024 × 4096 at 0.85× and 0.84× (both
    /// slot orders). Prefetching the next K chunk from the four-row kernel won back part of it at 16 MiB (still 0.84×)
    /// and cost 1 MiB 5–15 %.
    /// </summary>
    internal const long MultiRowMaxWeightBytes = 4L << 20;

    private readonly struct Vector256Kernel : IGemmKernel
    {
        public static int RowBlock => Vector256RowBlock;

        public static int BlockNBytes => Vector256BlockNBytes;

        public static int RowKernelPanels(int rows, long weightBytes)
            => rows == 1 ? 2 : rows is 2 or 4 && weightBytes <= MultiRowMaxWeightBytes ? 3 : 0;

        public static bool ReadsColumnVectors(int rows) => rows >= 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void ColumnVectorTile(
            int rows, ref float a, nint lda, ref float vectors, nint vectorStride, int vectorCount, int k, ref float src, nint srcStride, bool srcAdvances,
            ref float dst, nint ldc, PanelOrder order)
        {
            Debug.Assert(rows is >= 2 and <= 4, "Gemm.RunColumnVectors hands over groups of 2 to 4 rows");
            switch (rows)
            {
                case 2:
                    ColumnVectorsPanelPasses256<R2>(ref a, lda, ref vectors, vectorStride, vectorCount, k, ref src, srcStride, srcAdvances, ref dst, ldc, order);
                    break;
                case 3:
                    ColumnVectorsPanelPasses256<R3>(ref a, lda, ref vectors, vectorStride, vectorCount, k, ref src, srcStride, srcAdvances, ref dst, ldc, order);
                    break;
                case 4:
                    ColumnVectorsFourRows256(ref a, lda, ref vectors, vectorStride, vectorCount, k, ref src, srcStride, srcAdvances, ref dst, ldc, order);
                    break;
                default:
                    throw new UnreachableException();
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Tile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => Tiles<FloatWeights256>(rows, ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);

        public static int CompactBlockPanels => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void CompactTile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => Tiles<CompactWeights256>(rows, ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Tiles<TWeights>(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            where TWeights : struct, IWeights256
        {
            AssertRows(rows, Vector256RowBlock);
            switch (rows)
            {
                case 1:
                    Tile256<R1, TWeights>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                    break;
                case 2:
                    Tile256<R2, TWeights>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                    break;
                case 3:
                    Tile256<R3, TWeights>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc, ref prefetch, prefetchLines);
                    break;
                default:
                    throw new UnreachableException();
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RowTile(int rows, ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        {
            switch (rows)
            {
                case 1:
                    RowTile256<FloatWeights256>(ref a, ref panel, panelStride, k, ref src, ref dst);
                    break;
                case 2:
                    RowTileTwoRows256(ref a, lda, ref panel, panelStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                case 4:
                    RowTileFourRows256(ref a, lda, ref panel, panelStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                default:
                    throw new UnreachableException();
            }
        }

        public static int CompactRowKernelPanels(int rows, long weightBytes) => rows == 1 ? 2 : rows is >= 2 and <= 4 ? 3 : 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void CompactRowTile(int rows, ref float a, nint lda, ref ushort panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        {
            // The panels in 32-bit lanes (two bfloat16 values each).
            ref float lanes = ref Unsafe.As<ushort, float>(ref panel);
            nint laneStride = panelStride / 2;
            switch (rows)
            {
                case 1:
                    RowTile256<CompactWeights256>(ref a, ref lanes, laneStride, k, ref src, ref dst);
                    break;
                case 2:
                    RowTileTwoRowsCompact256(ref a, lda, ref lanes, laneStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                case 3:
                    RowTileRowsCompact256<R3>(ref a, lda, ref lanes, laneStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                case 4:
                    RowTileRowsCompact256<R4>(ref a, lda, ref lanes, laneStride, k, ref src, srcStride, ref dst, ldc);
                    break;
                default:
                    throw new UnreachableException();
            }
        }
    }

    /// <summary>How <see cref="RowTile256"/> reads one kk of a panel: 32 weights as four vectors (columns 0–7, 8–15,
    /// 16–23, 24–31), from <c>offset</c> floats past the panel's start, advancing <see cref="KkStride"/> floats a kk.</summary>
    private interface IWeights256
    {
        static abstract nuint KkStride { get; }

        static abstract void Load(ref float panel, nuint offset, out Vector256<float> w0, out Vector256<float> w1, out Vector256<float> w2, out Vector256<float> w3);

        /// <summary>Vector <paramref name="v"/> (0–3, a constant at each call) of the kk at <paramref name="offset"/>:
        /// columns 8v to 8v + 7.</summary>
        static abstract Vector256<float> LoadVector(ref float panel, nuint offset, int v);
    }

    /// <summary>Float panels: four loads.</summary>
    private readonly struct FloatWeights256 : IWeights256
    {
        public static nuint KkStride => PackedMatrix.PanelWidth;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(ref float panel, nuint offset, out Vector256<float> w0, out Vector256<float> w1, out Vector256<float> w2, out Vector256<float> w3)
        {
            w0 = Vector256.LoadUnsafe(ref panel, offset);
            w1 = Vector256.LoadUnsafe(ref panel, offset + 8);
            w2 = Vector256.LoadUnsafe(ref panel, offset + 16);
            w3 = Vector256.LoadUnsafe(ref panel, offset + 24);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> LoadVector(ref float panel, nuint offset, int v) => Vector256.LoadUnsafe(ref panel, offset + (nuint)(8 * v));
    }

    /// <summary>Compact panels (<see cref="PackedMatrix.ToCompact"/>): a kk is 16 32-bit lanes, lane j holding columns j
    /// (low half) and 16 + j (high half) as bfloat16. Two loads of 8 lanes; shifted up 16 bits they are columns 0–7 and
    /// 8–15, masked columns 16–23 and 24–31.</summary>
    private readonly struct CompactWeights256 : IWeights256
    {
        public static nuint KkStride => PackedMatrix.PanelWidth / 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(ref float panel, nuint offset, out Vector256<float> w0, out Vector256<float> w1, out Vector256<float> w2, out Vector256<float> w3)
        {
            Vector256<uint> low = Vector256.LoadUnsafe(ref Unsafe.As<float, uint>(ref panel), offset);
            Vector256<uint> high = Vector256.LoadUnsafe(ref Unsafe.As<float, uint>(ref panel), offset + 8);
            w0 = Vector256.ShiftLeft(low, 16).AsSingle();
            w1 = Vector256.ShiftLeft(high, 16).AsSingle();
            w2 = (low & Vector256.Create(0xFFFF0000u)).AsSingle();
            w3 = (high & Vector256.Create(0xFFFF0000u)).AsSingle();
        }

        /// <summary>Columns 0–7 and 8–15 are lanes 0–7 and 8–15 shifted up, columns 16–23 and 24–31 the same lanes with
        /// their low halves cleared, by two shifts: a mask would hold a register of its own, one more than
        /// <see cref="Tile256"/> has.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> LoadVector(ref float panel, nuint offset, int v)
        {
            Vector256<uint> lanes = Vector256.LoadUnsafe(ref Unsafe.As<float, uint>(ref panel), offset + (nuint)(8 * (v & 1)));
            return v < 2 ? Vector256.ShiftLeft(lanes, 16).AsSingle() : Vector256.ShiftLeft(Vector256.ShiftRightLogical(lanes, 16), 16).AsSingle();
        }
    }

    /// <summary>Always 0; read at run time (not readonly, so not folded) by <see cref="Tile256"/>.</summary>
#pragma warning disable CS0649 // never assigned: its point is a value the JIT does not know
    private static nint s_sameLanes;
#pragma warning restore CS0649

    /// <summary>Vector256 micro-kernel: a TRows × 32 tile of C in TRows × 4 accumulators (c{row}{vector}).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile256<TRows, TWeights>(ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
        where TRows : struct, IRowCount
        where TWeights : struct, IWeights256
    {
        Vector256<float> c0a = default, c0b = default, c0c = default, c0d = default;
        Vector256<float> c1a = default, c1b = default, c1c = default, c1d = default;
        Vector256<float> c2a = default, c2b = default, c2c = default, c2d = default;

        // Initial tile: bias row (srcStride 0), zeros, or C.
        if (TRows.Value > 0)
        {
            ref float s = ref src;
            c0a = Vector256.LoadUnsafe(ref s);
            c0b = Vector256.LoadUnsafe(ref s, 8);
            c0c = Vector256.LoadUnsafe(ref s, 16);
            c0d = Vector256.LoadUnsafe(ref s, 24);
        }

        if (TRows.Value > 1)
        {
            ref float s = ref Unsafe.Add(ref src, srcStride);
            c1a = Vector256.LoadUnsafe(ref s);
            c1b = Vector256.LoadUnsafe(ref s, 8);
            c1c = Vector256.LoadUnsafe(ref s, 16);
            c1d = Vector256.LoadUnsafe(ref s, 24);
        }

        if (TRows.Value > 2)
        {
            ref float s = ref Unsafe.Add(ref src, 2 * srcStride);
            c2a = Vector256.LoadUnsafe(ref s);
            c2b = Vector256.LoadUnsafe(ref s, 8);
            c2c = Vector256.LoadUnsafe(ref s, 16);
            c2d = Vector256.LoadUnsafe(ref s, 24);
        }

        // Compact panels: vectors 2 and 3 read the lanes of vectors 0 and 1 again, through an address the JIT cannot
        // prove the same (s_sameLanes is 0), so that it folds each load into its shift rather than keeping the two
        // loaded vectors alive across the step: with them, 12 accumulators + 3 broadcasts + 1 W vector + 2 held lanes
        // spilled two accumulators (DOTNET_JitDisasm), each step then storing and reloading them on their chains.
        nint again = typeof(TWeights) == typeof(CompactWeights256) ? s_sameLanes : 0;
        for (int kk = 0; kk < kc; kk++)
        {
            if (kk < prefetchLines)
            {
                PrefetchIntoL2(ref Unsafe.Add(ref prefetch, kk * 16));
            }

            // Column-major within the step: the rows' broadcasts stay in registers while each W vector is loaded once
            // and used by every row. 12 accumulators + 3 broadcasts + 1 W vector fill AVX2's 16 registers exactly;
            // holding the four W vectors instead spilled an accumulator, whose reload and store then sat on its chain.
            Vector256<float> b0 = Vector256.Create(packedA);
            Vector256<float> b1 = TRows.Value > 1 ? Vector256.Create(Unsafe.Add(ref packedA, 1 * PackedRowStride)) : default;
            Vector256<float> b2 = TRows.Value > 2 ? Vector256.Create(Unsafe.Add(ref packedA, 2 * PackedRowStride)) : default;

            Vector256<float> w = TWeights.LoadVector(ref panel, 0, 0);
            c0a = Vector256.FusedMultiplyAdd(b0, w, c0a);
            if (TRows.Value > 1) c1a = Vector256.FusedMultiplyAdd(b1, w, c1a);
            if (TRows.Value > 2) c2a = Vector256.FusedMultiplyAdd(b2, w, c2a);

            w = TWeights.LoadVector(ref panel, 0, 1);
            c0b = Vector256.FusedMultiplyAdd(b0, w, c0b);
            if (TRows.Value > 1) c1b = Vector256.FusedMultiplyAdd(b1, w, c1b);
            if (TRows.Value > 2) c2b = Vector256.FusedMultiplyAdd(b2, w, c2b);

            w = TWeights.LoadVector(ref Unsafe.Add(ref panel, again), 0, 2);
            c0c = Vector256.FusedMultiplyAdd(b0, w, c0c);
            if (TRows.Value > 1) c1c = Vector256.FusedMultiplyAdd(b1, w, c1c);
            if (TRows.Value > 2) c2c = Vector256.FusedMultiplyAdd(b2, w, c2c);

            w = TWeights.LoadVector(ref Unsafe.Add(ref panel, again), 0, 3);
            c0d = Vector256.FusedMultiplyAdd(b0, w, c0d);
            if (TRows.Value > 1) c1d = Vector256.FusedMultiplyAdd(b1, w, c1d);
            if (TRows.Value > 2) c2d = Vector256.FusedMultiplyAdd(b2, w, c2d);

            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, (nint)TWeights.KkStride);
        }

        if (TRows.Value > 0)
        {
            ref float d = ref dst;
            c0a.StoreUnsafe(ref d);
            c0b.StoreUnsafe(ref d, 8);
            c0c.StoreUnsafe(ref d, 16);
            c0d.StoreUnsafe(ref d, 24);
        }

        if (TRows.Value > 1)
        {
            ref float d = ref Unsafe.Add(ref dst, ldc);
            c1a.StoreUnsafe(ref d);
            c1b.StoreUnsafe(ref d, 8);
            c1c.StoreUnsafe(ref d, 16);
            c1d.StoreUnsafe(ref d, 24);
        }

        if (TRows.Value > 2)
        {
            ref float d = ref Unsafe.Add(ref dst, 2 * ldc);
            c2a.StoreUnsafe(ref d);
            c2b.StoreUnsafe(ref d, 8);
            c2c.StoreUnsafe(ref d, 16);
            c2d.StoreUnsafe(ref d, 24);
        }
    }

    /// <summary>Vector256 row kernel: one row × 2 panels, unpacked A, whole k; accumulators p{panel}{vector}. Starts from
    /// <paramref name="src"/> (bias, zeros or C) and writes <paramref name="dst"/>; <paramref name="panelStride"/> and the
    /// panels' kk stride (<typeparamref name="TWeights"/>) count floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTile256<TWeights>(ref float a, ref float panel, nint panelStride, int k, ref float src, ref float dst)
        where TWeights : struct, IWeights256
    {
        Vector256<float> p0a = Vector256.LoadUnsafe(ref src), p0b = Vector256.LoadUnsafe(ref src, 8);
        Vector256<float> p0c = Vector256.LoadUnsafe(ref src, 16), p0d = Vector256.LoadUnsafe(ref src, 24);
        Vector256<float> p1a = Vector256.LoadUnsafe(ref src, 32), p1b = Vector256.LoadUnsafe(ref src, 40);
        Vector256<float> p1c = Vector256.LoadUnsafe(ref src, 48), p1d = Vector256.LoadUnsafe(ref src, 56);

        ref float w1 = ref Unsafe.Add(ref panel, panelStride);
        nuint offset = 0;
        for (int kk = 0; kk < k; kk++)
        {
            Vector256<float> b0 = Vector256.Create(Unsafe.Add(ref a, kk));
            TWeights.Load(ref panel, offset, out Vector256<float> w0a, out Vector256<float> w0b, out Vector256<float> w0c, out Vector256<float> w0d);
            p0a = Vector256.FusedMultiplyAdd(b0, w0a, p0a);
            p0b = Vector256.FusedMultiplyAdd(b0, w0b, p0b);
            p0c = Vector256.FusedMultiplyAdd(b0, w0c, p0c);
            p0d = Vector256.FusedMultiplyAdd(b0, w0d, p0d);

            TWeights.Load(ref w1, offset, out Vector256<float> w1a, out Vector256<float> w1b, out Vector256<float> w1c, out Vector256<float> w1d);
            p1a = Vector256.FusedMultiplyAdd(b0, w1a, p1a);
            p1b = Vector256.FusedMultiplyAdd(b0, w1b, p1b);
            p1c = Vector256.FusedMultiplyAdd(b0, w1c, p1c);
            p1d = Vector256.FusedMultiplyAdd(b0, w1d, p1d);

            offset += TWeights.KkStride;
        }

        p0a.StoreUnsafe(ref dst);
        p0b.StoreUnsafe(ref dst, 8);
        p0c.StoreUnsafe(ref dst, 16);
        p0d.StoreUnsafe(ref dst, 24);
        p1a.StoreUnsafe(ref dst, 32);
        p1b.StoreUnsafe(ref dst, 40);
        p1c.StoreUnsafe(ref dst, 48);
        p1d.StoreUnsafe(ref dst, 56);
    }

    /// <summary>K chunk of <see cref="RowTileFourRows256"/> and <see cref="RowTileTwoRows256"/>: its W (3 panels × 128 kk × 32 floats = 48 KiB) stays in L2 at
    /// least, so the chunk's later passes read what the earlier ones brought in from L3. Measured on the Zen 3 machine
    /// (2026-11-30, two builds in one process, both slot orders): 4 × 256 × 1024 ran 1.05× as fast as at 64 kk (24 KiB, in
    /// L1: more passes, each reloading its accumulators), 1.08× as at 32, and 0.97× as at 256; S2 within 2 % of all.</summary>
    private const int MultiRowChunkK = 128;

    /// <summary>Vector <paramref name="v"/> (0–11) of a row kernel's group of 3 panels starting at <paramref name="w"/>: panel
    /// v / 4, its columns (v % 4)·8 onwards; its C columns are 8v onwards from the group's first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float GroupVector(ref float w, nint panelStride, int v) => ref Unsafe.Add(ref w, ((v / 4) * panelStride) + ((v % 4) * 8));

    /// <summary>
    /// Vector256 row kernel for 4 rows × 3 panels (96 columns = 12 vectors), unpacked A: per K chunk, 4 passes of 3 vectors
    /// (24 columns) each, so 12 accumulators carry independent chains and 12 accumulators + 3 W vectors + 1 broadcast
    /// fill the 16 registers. A 4 × 16 tile (8 chains, too few for the FMA latency) ran at half the peak with W in L2.
    /// Chains: a chunk after the first starts from the float the previous one stored in C, as the blocked loops' K blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTileFourRows256(ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
    {
        for (int k0 = 0; k0 < k; k0 += MultiRowChunkK)
        {
            int kc = Math.Min(MultiRowChunkK, k - k0);
            ref float s = ref k0 == 0 ? ref src : ref dst;
            nint sStride = k0 == 0 ? srcStride : ldc;
            ref float w = ref Unsafe.Add(ref panel, k0 * PackedMatrix.PanelWidth);
            for (int v = 0; v < 12; v += 3)
            {
                RowsThreeVectors256<R4, FloatVectors256>(
                    ref Unsafe.Add(ref a, k0), lda,
                    ref GroupVector(ref w, panelStride, v), ref GroupVector(ref w, panelStride, v + 1), ref GroupVector(ref w, panelStride, v + 2),
                    PackedMatrix.PanelWidth, kc, ref Unsafe.Add(ref s, 8 * v), sStride, ref Unsafe.Add(ref dst, 8 * v), ldc);
            }
        }
    }

    /// <summary>4 or 3 rows (<typeparamref name="TRows"/>) × 3 vectors of W (panel columns of 8, <paramref name="step"/> = 32 floats per kk, or column vectors,
    /// 8 per kk, or compact panels' lanes, 16 per kk, as <typeparamref name="TVectors"/> reads them): accumulators
    /// r{row}{vector}. The vectors' C columns lie <see cref="IVectors256.ColumnStep"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsThreeVectors256<TRows, TVectors>(
        ref float a, nint lda, ref float wa, ref float wb, ref float wc, nuint step, int kc, ref float src, nint srcStride, ref float dst, nint ldc)
        where TRows : struct, IRowCount
        where TVectors : struct, IVectors256
    {
        Debug.Assert(TRows.Value is 3 or 4, "3 or 4 rows");
        ref float a0 = ref a;
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float a3 = ref TRows.Value > 3 ? ref Unsafe.Add(ref a, 3 * lda) : ref a2; // never past the rows given
        ref float s1 = ref Unsafe.Add(ref src, srcStride);
        ref float s2 = ref Unsafe.Add(ref src, 2 * srcStride);
        ref float s3 = ref TRows.Value > 3 ? ref Unsafe.Add(ref src, 3 * srcStride) : ref s2;
        nuint c1 = TVectors.ColumnStep, c2 = 2 * TVectors.ColumnStep;
        Vector256<float> r0a = Vector256.LoadUnsafe(ref src), r0b = Vector256.LoadUnsafe(ref src, c1), r0c = Vector256.LoadUnsafe(ref src, c2);
        Vector256<float> r1a = Vector256.LoadUnsafe(ref s1), r1b = Vector256.LoadUnsafe(ref s1, c1), r1c = Vector256.LoadUnsafe(ref s1, c2);
        Vector256<float> r2a = Vector256.LoadUnsafe(ref s2), r2b = Vector256.LoadUnsafe(ref s2, c1), r2c = Vector256.LoadUnsafe(ref s2, c2);
        Vector256<float> r3a = default, r3b = default, r3c = default;
        if (TRows.Value > 3)
        {
            r3a = Vector256.LoadUnsafe(ref s3);
            r3b = Vector256.LoadUnsafe(ref s3, c1);
            r3c = Vector256.LoadUnsafe(ref s3, c2);
        }

        nuint offset = 0;
        for (nuint kk = 0; kk < (nuint)kc; kk++)
        {
            Vector256<float> va = TVectors.Load(ref wa, offset);
            Vector256<float> vb = TVectors.Load(ref wb, offset);
            Vector256<float> vc = TVectors.Load(ref wc, offset);
            Vector256<float> b = Vector256.Create(Unsafe.Add(ref a0, kk));
            r0a = Vector256.FusedMultiplyAdd(b, va, r0a);
            r0b = Vector256.FusedMultiplyAdd(b, vb, r0b);
            r0c = Vector256.FusedMultiplyAdd(b, vc, r0c);
            b = Vector256.Create(Unsafe.Add(ref a1, kk));
            r1a = Vector256.FusedMultiplyAdd(b, va, r1a);
            r1b = Vector256.FusedMultiplyAdd(b, vb, r1b);
            r1c = Vector256.FusedMultiplyAdd(b, vc, r1c);
            b = Vector256.Create(Unsafe.Add(ref a2, kk));
            r2a = Vector256.FusedMultiplyAdd(b, va, r2a);
            r2b = Vector256.FusedMultiplyAdd(b, vb, r2b);
            r2c = Vector256.FusedMultiplyAdd(b, vc, r2c);
            if (TRows.Value > 3)
            {
                b = Vector256.Create(Unsafe.Add(ref a3, kk));
                r3a = Vector256.FusedMultiplyAdd(b, va, r3a);
                r3b = Vector256.FusedMultiplyAdd(b, vb, r3b);
                r3c = Vector256.FusedMultiplyAdd(b, vc, r3c);
            }

            offset += step;
        }

        ref float d1 = ref Unsafe.Add(ref dst, ldc);
        ref float d2 = ref Unsafe.Add(ref dst, 2 * ldc);

        r0a.StoreUnsafe(ref dst);
        r0b.StoreUnsafe(ref dst, c1);
        r0c.StoreUnsafe(ref dst, c2);
        r1a.StoreUnsafe(ref d1);
        r1b.StoreUnsafe(ref d1, c1);
        r1c.StoreUnsafe(ref d1, c2);
        r2a.StoreUnsafe(ref d2);
        r2b.StoreUnsafe(ref d2, c1);
        r2c.StoreUnsafe(ref d2, c2);
        if (TRows.Value > 3)
        {
            ref float d3 = ref Unsafe.Add(ref dst, 3 * ldc);
            r3a.StoreUnsafe(ref d3);
            r3b.StoreUnsafe(ref d3, c1);
            r3c.StoreUnsafe(ref d3, c2);
        }
    }

    /// <summary>
    /// Vector256 row kernel for 2 rows × 3 panels (12 vectors), unpacked A: per K chunk, 2 passes of 6 vectors (48 columns),
    /// each step column by column (the two rows' broadcasts held, one W vector at a time), so 12 accumulators carry
    /// independent chains in 12 + 2 + 1 registers and each W vector is loaded once. The blocked loops would run the 2 rows
    /// as one tile of 8 chains. Same chains as the blocked loops (a chunk after the first starts from C).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTileTwoRows256(ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
    {
        for (int k0 = 0; k0 < k; k0 += MultiRowChunkK)
        {
            int kc = Math.Min(MultiRowChunkK, k - k0);
            ref float s = ref k0 == 0 ? ref src : ref dst;
            nint sStride = k0 == 0 ? srcStride : ldc;
            ref float w = ref Unsafe.Add(ref panel, k0 * PackedMatrix.PanelWidth);
            for (int v = 0; v < 12; v += 6)
            {
                TwoRowsSixVectors256<FloatVectors256>(
                    ref Unsafe.Add(ref a, k0), lda,
                    ref GroupVector(ref w, panelStride, v), ref GroupVector(ref w, panelStride, v + 1), ref GroupVector(ref w, panelStride, v + 2),
                    ref GroupVector(ref w, panelStride, v + 3), ref GroupVector(ref w, panelStride, v + 4), ref GroupVector(ref w, panelStride, v + 5),
                    PackedMatrix.PanelWidth, kc, ref Unsafe.Add(ref s, 8 * v), sStride, ref Unsafe.Add(ref dst, 8 * v), ldc);
            }
        }
    }

    /// <summary>2 rows × 6 vectors of W (each its own panel column of 8, 32 floats per kk, or compact panels' lanes, 16
    /// per kk, as <typeparamref name="TVectors"/> reads them): accumulators r{row}{vector}. The vectors' C columns come in
    /// pairs of 2 side by side, the pairs <see cref="IVectors256.PairStep"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TwoRowsSixVectors256<TVectors>(
        ref float a, nint lda, ref float w0, ref float w1, ref float w2, ref float w3, ref float w4, ref float w5, nuint step, int kc,
        ref float src, nint srcStride, ref float dst, nint ldc)
        where TVectors : struct, IVectors256
    {
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float s1 = ref Unsafe.Add(ref src, srcStride);
        nuint p1 = TVectors.PairStep, p2 = 2 * TVectors.PairStep;
        Vector256<float> r00 = Vector256.LoadUnsafe(ref src), r01 = Vector256.LoadUnsafe(ref src, 8), r02 = Vector256.LoadUnsafe(ref src, p1);
        Vector256<float> r03 = Vector256.LoadUnsafe(ref src, p1 + 8), r04 = Vector256.LoadUnsafe(ref src, p2), r05 = Vector256.LoadUnsafe(ref src, p2 + 8);
        Vector256<float> r10 = Vector256.LoadUnsafe(ref s1), r11 = Vector256.LoadUnsafe(ref s1, 8), r12 = Vector256.LoadUnsafe(ref s1, p1);
        Vector256<float> r13 = Vector256.LoadUnsafe(ref s1, p1 + 8), r14 = Vector256.LoadUnsafe(ref s1, p2), r15 = Vector256.LoadUnsafe(ref s1, p2 + 8);
        nuint offset = 0;
        for (nuint kk = 0; kk < (nuint)kc; kk++)
        {
            Vector256<float> b0 = Vector256.Create(Unsafe.Add(ref a, kk));
            Vector256<float> b1 = Vector256.Create(Unsafe.Add(ref a1, kk));
            Vector256<float> v = TVectors.Load(ref w0, offset);
            r00 = Vector256.FusedMultiplyAdd(b0, v, r00);
            r10 = Vector256.FusedMultiplyAdd(b1, v, r10);
            v = TVectors.Load(ref w1, offset);
            r01 = Vector256.FusedMultiplyAdd(b0, v, r01);
            r11 = Vector256.FusedMultiplyAdd(b1, v, r11);
            v = TVectors.Load(ref w2, offset);
            r02 = Vector256.FusedMultiplyAdd(b0, v, r02);
            r12 = Vector256.FusedMultiplyAdd(b1, v, r12);
            v = TVectors.Load(ref w3, offset);
            r03 = Vector256.FusedMultiplyAdd(b0, v, r03);
            r13 = Vector256.FusedMultiplyAdd(b1, v, r13);
            v = TVectors.Load(ref w4, offset);
            r04 = Vector256.FusedMultiplyAdd(b0, v, r04);
            r14 = Vector256.FusedMultiplyAdd(b1, v, r14);
            v = TVectors.Load(ref w5, offset);
            r05 = Vector256.FusedMultiplyAdd(b0, v, r05);
            r15 = Vector256.FusedMultiplyAdd(b1, v, r15);
            offset += step;
        }

        ref float d1 = ref Unsafe.Add(ref dst, ldc);
        r00.StoreUnsafe(ref dst);
        r01.StoreUnsafe(ref dst, 8);
        r02.StoreUnsafe(ref dst, p1);
        r03.StoreUnsafe(ref dst, p1 + 8);
        r04.StoreUnsafe(ref dst, p2);
        r05.StoreUnsafe(ref dst, p2 + 8);
        r10.StoreUnsafe(ref d1);
        r11.StoreUnsafe(ref d1, 8);
        r12.StoreUnsafe(ref d1, p1);
        r13.StoreUnsafe(ref d1, p1 + 8);
        r14.StoreUnsafe(ref d1, p2);
        r15.StoreUnsafe(ref d1, p2 + 8);
    }
}
