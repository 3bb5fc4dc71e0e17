using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Vector128 path of Gemm.
// Lane layout. A panel row (32 packed W floats for one kk) is eight 128-bit registers w0..w7 (4 columns each). The
// micro-kernel keeps an MR × 32 tile of C as 8·MR accumulators (row i: c{i}a..c{i}h). MR = 2: 16 accumulators
// + 8 W vectors + 1 broadcast = 25 registers, a fit for the 32 registers of AdvSimd (ARM64, the main user of this
// path, which always fuses). x64 runs this path only without AVX2, so without fused multiply-adds, and has 16
// registers: there two rows run as two 16-column halves (UnfusedTwoRowHalf128) and one row with each W vector read
// straight into its multiply (UnfusedOneRowTile128), neither spilling. With 8 chains even for one row, no separate
// row kernel is needed for float weights. Row tails use the same generic kernel for fewer rows; column tails go
// through a 32-wide scratch tile in the caller.
//
// Compact (bfloat16) weights at batch 1: a row kernel (CompactRowTile128) reads the compact panels directly, one panel
// over the whole k, widening each kk's 32 values in registers, so a step reads half the bytes. Widening slices of 8
// panels × 256 kk into a buffer and running the blocked loops on them (Gemm.Compact.cs, what this path did before) made
// the suite's batch-1 shapes 1.2–1.9× slower than with float weights (Zen 5 machine with DOTNET_EnableAVX=0, 2026-12-02).
//
// Exactness. Each accumulator lane is one C element: bias / 0 / C, then one fused multiply-add per kk in increasing
// order — the scalar definition with one rounding per step. Where the hardware has no fused multiply-add (x64 before
// AVX2, NativeAOT's default x64 target; FusedMultiplyAdds), a multiply then an add instead, as the scalar path: the
// runtime's emulation of the fused one ran the layers 100–200 times slower. Works (emulated) when Vector128 is not
// accelerated.
// No bounds checks: Gemm.Run validated the spans.
internal static partial class Gemm
{
    /// <summary>MR of the Vector128 path.</summary>
    internal const int Vector128RowBlock = 2;

    private readonly struct Vector128Kernel : IGemmKernel
    {
        public static int RowBlock => Vector128RowBlock;

        public static int RowKernelPanels(int rows, long weightBytes) => 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Tile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
        {
            AssertRows(rows, Vector128RowBlock);
            switch (rows)
            {
                // The hardware's answer taken once per tile, not per multiply-add: NativeAOT does not fold it to a
                // constant as the JIT does, and asked in the loop it made NativeAOT's T1 2× and S1 6.5× slower.
                case 1 when FusedMultiplyAdds.InHardware:
                    Tile128<R1>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc);
                    break;
                case 1:
                    UnfusedOneRowTile128(ref packedA, ref panel, kc, ref src, ref dst);
                    break;
                case 2 when FusedMultiplyAdds.InHardware:
                    Tile128<R2>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc);
                    break;
                case 2:
                    UnfusedTwoRowHalf128(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc);
                    UnfusedTwoRowHalf128(ref packedA, ref Unsafe.Add(ref panel, 16), kc, ref Unsafe.Add(ref src, 16), srcStride, ref Unsafe.Add(ref dst, 16), ldc);
                    break;
                default:
                    throw new UnreachableException();
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RowTile(int rows, ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        {
            throw new UnreachableException(); // RowKernelPanels is 0 for every m: the blocked loops handle all.
        }

        public static int CompactRowKernelPanels(int rows, long weightBytes) => rows == 1 ? 1 : 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void CompactRowTile(int rows, ref float a, nint lda, ref ushort panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        {
            Debug.Assert(rows == 1, "CompactRowKernelPanels: the one-row kernel only");
            ref uint lanes = ref Unsafe.As<ushort, uint>(ref panel);
            if (FusedMultiplyAdds.InHardware) // once per call, as Tile: NativeAOT does not fold it
            {
                CompactRowTile128<Fused128>(ref a, ref lanes, k, ref src, ref dst);
            }
            else
            {
                CompactRowTile128<Unfused128>(ref a, ref lanes, k, ref src, ref dst);
            }
        }
    }

    /// <summary>
    /// Vector128 row kernel on a compact panel: one row × 32 columns, unpacked A, whole k, 8 accumulators (c{vector},
    /// columns 4·vector onwards). A kk is 16 32-bit lanes, lane j holding columns j (low half) and 16 + j (high half)
    /// as bfloat16: four loads; shifted up 16 bits they are columns 0–15, masked columns 16–31. Each accumulator is the
    /// float chain of the blocked loops' tile for the same path (<typeparamref name="TMultiplyAdd"/>), so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CompactRowTile128<TMultiplyAdd>(ref float a, ref uint panel, int k, ref float src, ref float dst)
        where TMultiplyAdd : struct, IMultiplyAdd128
    {
        LoadRow128(ref src, out Vector128<float> ca, out Vector128<float> cb, out Vector128<float> cc, out Vector128<float> cd,
            out Vector128<float> ce, out Vector128<float> cf, out Vector128<float> cg, out Vector128<float> ch);
        Vector128<uint> highHalves = Vector128.Create(0xFFFF0000u);
        nuint offset = 0;
        for (int kk = 0; kk < k; kk++)
        {
            Vector128<float> b = Vector128.Create(Unsafe.Add(ref a, kk));
            Vector128<uint> q0 = Vector128.LoadUnsafe(ref panel, offset), q1 = Vector128.LoadUnsafe(ref panel, offset + 4);
            Vector128<uint> q2 = Vector128.LoadUnsafe(ref panel, offset + 8), q3 = Vector128.LoadUnsafe(ref panel, offset + 12);
            ca = TMultiplyAdd.Apply(b, Vector128.ShiftLeft(q0, 16).AsSingle(), ca);
            cb = TMultiplyAdd.Apply(b, Vector128.ShiftLeft(q1, 16).AsSingle(), cb);
            cc = TMultiplyAdd.Apply(b, Vector128.ShiftLeft(q2, 16).AsSingle(), cc);
            cd = TMultiplyAdd.Apply(b, Vector128.ShiftLeft(q3, 16).AsSingle(), cd);
            ce = TMultiplyAdd.Apply(b, (q0 & highHalves).AsSingle(), ce);
            cf = TMultiplyAdd.Apply(b, (q1 & highHalves).AsSingle(), cf);
            cg = TMultiplyAdd.Apply(b, (q2 & highHalves).AsSingle(), cg);
            ch = TMultiplyAdd.Apply(b, (q3 & highHalves).AsSingle(), ch);
            offset += PackedMatrix.PanelWidth / 2;
        }

        StoreRow128(ref dst, ca, cb, cc, cd, ce, cf, cg, ch);
    }

    /// <summary>Vector128 micro-kernel where the hardware fuses: a TRows × 32 tile of C in TRows × 8 accumulators (c{row}{vector}).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile128<TRows>(ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc)
        where TRows : struct, IRowCount
    {
        Vector128<float> c0a = default, c0b = default, c0c = default, c0d = default, c0e = default, c0f = default, c0g = default, c0h = default;
        Vector128<float> c1a = default, c1b = default, c1c = default, c1d = default, c1e = default, c1f = default, c1g = default, c1h = default;

        // Initial tile: bias row (srcStride 0), zeros, or C.
        if (TRows.Value > 0)
        {
            ref float s = ref src;
            c0a = Vector128.LoadUnsafe(ref s);
            c0b = Vector128.LoadUnsafe(ref s, 4);
            c0c = Vector128.LoadUnsafe(ref s, 8);
            c0d = Vector128.LoadUnsafe(ref s, 12);
            c0e = Vector128.LoadUnsafe(ref s, 16);
            c0f = Vector128.LoadUnsafe(ref s, 20);
            c0g = Vector128.LoadUnsafe(ref s, 24);
            c0h = Vector128.LoadUnsafe(ref s, 28);
        }

        if (TRows.Value > 1)
        {
            ref float s = ref Unsafe.Add(ref src, srcStride);
            c1a = Vector128.LoadUnsafe(ref s);
            c1b = Vector128.LoadUnsafe(ref s, 4);
            c1c = Vector128.LoadUnsafe(ref s, 8);
            c1d = Vector128.LoadUnsafe(ref s, 12);
            c1e = Vector128.LoadUnsafe(ref s, 16);
            c1f = Vector128.LoadUnsafe(ref s, 20);
            c1g = Vector128.LoadUnsafe(ref s, 24);
            c1h = Vector128.LoadUnsafe(ref s, 28);
        }

        for (int kk = 0; kk < kc; kk++)
        {
            Vector128<float> w0 = Vector128.LoadUnsafe(ref panel);
            Vector128<float> w1 = Vector128.LoadUnsafe(ref panel, 4);
            Vector128<float> w2 = Vector128.LoadUnsafe(ref panel, 8);
            Vector128<float> w3 = Vector128.LoadUnsafe(ref panel, 12);
            Vector128<float> w4 = Vector128.LoadUnsafe(ref panel, 16);
            Vector128<float> w5 = Vector128.LoadUnsafe(ref panel, 20);
            Vector128<float> w6 = Vector128.LoadUnsafe(ref panel, 24);
            Vector128<float> w7 = Vector128.LoadUnsafe(ref panel, 28);
            Vector128<float> b = Vector128.Create(packedA);
            c0a = Vector128.FusedMultiplyAdd(b, w0, c0a);
            c0b = Vector128.FusedMultiplyAdd(b, w1, c0b);
            c0c = Vector128.FusedMultiplyAdd(b, w2, c0c);
            c0d = Vector128.FusedMultiplyAdd(b, w3, c0d);
            c0e = Vector128.FusedMultiplyAdd(b, w4, c0e);
            c0f = Vector128.FusedMultiplyAdd(b, w5, c0f);
            c0g = Vector128.FusedMultiplyAdd(b, w6, c0g);
            c0h = Vector128.FusedMultiplyAdd(b, w7, c0h);
            if (TRows.Value > 1)
            {
                b = Vector128.Create(Unsafe.Add(ref packedA, PackedRowStride));
                c1a = Vector128.FusedMultiplyAdd(b, w0, c1a);
                c1b = Vector128.FusedMultiplyAdd(b, w1, c1b);
                c1c = Vector128.FusedMultiplyAdd(b, w2, c1c);
                c1d = Vector128.FusedMultiplyAdd(b, w3, c1d);
                c1e = Vector128.FusedMultiplyAdd(b, w4, c1e);
                c1f = Vector128.FusedMultiplyAdd(b, w5, c1f);
                c1g = Vector128.FusedMultiplyAdd(b, w6, c1g);
                c1h = Vector128.FusedMultiplyAdd(b, w7, c1h);
            }

            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, PackedMatrix.PanelWidth);
        }

        if (TRows.Value > 0)
        {
            ref float d = ref dst;
            c0a.StoreUnsafe(ref d);
            c0b.StoreUnsafe(ref d, 4);
            c0c.StoreUnsafe(ref d, 8);
            c0d.StoreUnsafe(ref d, 12);
            c0e.StoreUnsafe(ref d, 16);
            c0f.StoreUnsafe(ref d, 20);
            c0g.StoreUnsafe(ref d, 24);
            c0h.StoreUnsafe(ref d, 28);
        }

        if (TRows.Value > 1)
        {
            ref float d = ref Unsafe.Add(ref dst, ldc);
            c1a.StoreUnsafe(ref d);
            c1b.StoreUnsafe(ref d, 4);
            c1c.StoreUnsafe(ref d, 8);
            c1d.StoreUnsafe(ref d, 12);
            c1e.StoreUnsafe(ref d, 16);
            c1f.StoreUnsafe(ref d, 20);
            c1g.StoreUnsafe(ref d, 24);
            c1h.StoreUnsafe(ref d, 28);
        }
    }

    /// <summary>
    /// Columns [0, 16) of a 2 × 32 tile of the Vector128 path where the hardware does not fuse (x64 before AVX2),
    /// whose panel row, source row and destination row begin at <paramref name="panel"/>, <paramref name="src"/> and
    /// <paramref name="dst"/>: acc = (b·w) + acc, rounded twice, the same chains. Two rows run in two halves of 16
    /// columns, each in 2 × 4 accumulators: the whole tile's 16 accumulators, its 8 W vectors, the broadcast and the
    /// product awaiting its add need 26 registers, x64 has 16, and the JIT spilled 9 accumulators to the stack, a load
    /// and a store of each per kk; a half needs 14, and reads the A micro-panel again (from L1). Measured on the Zen 3
    /// machine (2026-11-30, two builds in one process, old time / new time over both slot orders) with
    /// <c>DOTNET_EnableAVX=0</c> (SSE only, as Atom-class CPUs): LSTM 256 at batch 64 1.25, S1 1.23, F1 1.21, T1 1.08;
    /// with <c>DOTNET_EnableAVX2=0</c> (AVX without FMA): 1.04, 1.11, 1.08, 1.04.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnfusedTwoRowHalf128(ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc)
    {
        Vector128<float> c0a = Vector128.LoadUnsafe(ref src), c0b = Vector128.LoadUnsafe(ref src, 4);
        Vector128<float> c0c = Vector128.LoadUnsafe(ref src, 8), c0d = Vector128.LoadUnsafe(ref src, 12);
        ref float s1 = ref Unsafe.Add(ref src, srcStride);
        Vector128<float> c1a = Vector128.LoadUnsafe(ref s1), c1b = Vector128.LoadUnsafe(ref s1, 4);
        Vector128<float> c1c = Vector128.LoadUnsafe(ref s1, 8), c1d = Vector128.LoadUnsafe(ref s1, 12);

        for (int kk = 0; kk < kc; kk++)
        {
            Vector128<float> w0 = Vector128.LoadUnsafe(ref panel);
            Vector128<float> w1 = Vector128.LoadUnsafe(ref panel, 4);
            Vector128<float> w2 = Vector128.LoadUnsafe(ref panel, 8);
            Vector128<float> w3 = Vector128.LoadUnsafe(ref panel, 12);
            Vector128<float> b = Vector128.Create(packedA);
            c0a = (b * w0) + c0a;
            c0b = (b * w1) + c0b;
            c0c = (b * w2) + c0c;
            c0d = (b * w3) + c0d;
            b = Vector128.Create(Unsafe.Add(ref packedA, PackedRowStride));
            c1a = (b * w0) + c1a;
            c1b = (b * w1) + c1b;
            c1c = (b * w2) + c1c;
            c1d = (b * w3) + c1d;

            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, PackedMatrix.PanelWidth);
        }

        c0a.StoreUnsafe(ref dst);
        c0b.StoreUnsafe(ref dst, 4);
        c0c.StoreUnsafe(ref dst, 8);
        c0d.StoreUnsafe(ref dst, 12);
        ref float d1 = ref Unsafe.Add(ref dst, ldc);
        c1a.StoreUnsafe(ref d1);
        c1b.StoreUnsafe(ref d1, 4);
        c1c.StoreUnsafe(ref d1, 8);
        c1d.StoreUnsafe(ref d1, 12);
    }

    /// <summary>A 1 × 32 tile without fused multiply-adds: 8 accumulators (8 chains, as the fused tile, where a half
    /// would have 4 and wait on the add's latency), each W vector read once, straight into its multiply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnfusedOneRowTile128(ref float packedA, ref float panel, int kc, ref float src, ref float dst)
    {
        LoadRow128(ref src, out Vector128<float> ca, out Vector128<float> cb, out Vector128<float> cc, out Vector128<float> cd,
            out Vector128<float> ce, out Vector128<float> cf, out Vector128<float> cg, out Vector128<float> ch);
        for (int kk = 0; kk < kc; kk++)
        {
            Vector128<float> b = Vector128.Create(packedA);
            ca = (b * Vector128.LoadUnsafe(ref panel)) + ca;
            cb = (b * Vector128.LoadUnsafe(ref panel, 4)) + cb;
            cc = (b * Vector128.LoadUnsafe(ref panel, 8)) + cc;
            cd = (b * Vector128.LoadUnsafe(ref panel, 12)) + cd;
            ce = (b * Vector128.LoadUnsafe(ref panel, 16)) + ce;
            cf = (b * Vector128.LoadUnsafe(ref panel, 20)) + cf;
            cg = (b * Vector128.LoadUnsafe(ref panel, 24)) + cg;
            ch = (b * Vector128.LoadUnsafe(ref panel, 28)) + ch;
            packedA = ref Unsafe.Add(ref packedA, 1);
            panel = ref Unsafe.Add(ref panel, PackedMatrix.PanelWidth);
        }

        StoreRow128(ref dst, ca, cb, cc, cd, ce, cf, cg, ch);
    }

    /// <summary>One row of 32 floats as 8 vectors (columns 4·i onwards in the i-th).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadRow128(
        ref float src, out Vector128<float> ca, out Vector128<float> cb, out Vector128<float> cc, out Vector128<float> cd,
        out Vector128<float> ce, out Vector128<float> cf, out Vector128<float> cg, out Vector128<float> ch)
    {
        ca = Vector128.LoadUnsafe(ref src);
        cb = Vector128.LoadUnsafe(ref src, 4);
        cc = Vector128.LoadUnsafe(ref src, 8);
        cd = Vector128.LoadUnsafe(ref src, 12);
        ce = Vector128.LoadUnsafe(ref src, 16);
        cf = Vector128.LoadUnsafe(ref src, 20);
        cg = Vector128.LoadUnsafe(ref src, 24);
        ch = Vector128.LoadUnsafe(ref src, 28);
    }

    /// <summary>The 8 vectors of <see cref="LoadRow128"/> back to a row of 32 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow128(
        ref float dst, Vector128<float> ca, Vector128<float> cb, Vector128<float> cc, Vector128<float> cd,
        Vector128<float> ce, Vector128<float> cf, Vector128<float> cg, Vector128<float> ch)
    {
        ca.StoreUnsafe(ref dst);
        cb.StoreUnsafe(ref dst, 4);
        cc.StoreUnsafe(ref dst, 8);
        cd.StoreUnsafe(ref dst, 12);
        ce.StoreUnsafe(ref dst, 16);
        cf.StoreUnsafe(ref dst, 20);
        cg.StoreUnsafe(ref dst, 24);
        ch.StoreUnsafe(ref dst, 28);
    }
}
