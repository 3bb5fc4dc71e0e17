using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Vector128 path of Gemm.
// Lane layout. A panel row (32 packed W floats for one kk) is eight 128-bit registers w0..w7 (4 columns each). The
// micro-kernel keeps an MR × 32 tile of C as 8·MR accumulators (row i: c{i}a..c{i}h). MR = 2: 16 accumulators
// + 8 W vectors + 1 broadcast = 25 registers, a fit for the 32 registers of AdvSimd (ARM64, the main user of this
// path); on x64 without AVX the JIT folds W loads into memory operands. With 8 chains even for one row, no
// separate row kernel is needed. Row tails use the same generic kernel for fewer rows; column tails go through a
// 32-wide scratch tile in the caller.
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
                    Tile128<R1, Fused128>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc);
                    break;
                case 1:
                    Tile128<R1, Unfused128>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc);
                    break;
                case 2 when FusedMultiplyAdds.InHardware:
                    Tile128<R2, Fused128>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc);
                    break;
                case 2:
                    Tile128<R2, Unfused128>(ref packedA, ref panel, kc, ref src, srcStride, ref dst, ldc);
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
    }

    /// <summary>acc + b·w as the tile computes it.</summary>
    private interface IMultiplyAdd128
    {
        static abstract Vector128<float> Apply(Vector128<float> b, Vector128<float> w, Vector128<float> acc);
    }

#pragma warning disable CA1812 // used only as generic type arguments
    /// <summary>One rounding: where the hardware fuses (<see cref="FusedMultiplyAdds.InHardware"/>).</summary>
    private readonly struct Fused128 : IMultiplyAdd128
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Apply(Vector128<float> b, Vector128<float> w, Vector128<float> acc) => Vector128.FusedMultiplyAdd(b, w, acc);
    }

    /// <summary>A multiply, then an add: where the hardware does not fuse.</summary>
    private readonly struct Unfused128 : IMultiplyAdd128
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Apply(Vector128<float> b, Vector128<float> w, Vector128<float> acc) => (b * w) + acc;
    }
#pragma warning restore CA1812

    /// <summary>Vector128 micro-kernel: a TRows × 32 tile of C in TRows × 8 accumulators (c{row}{vector}).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile128<TRows, TMultiplyAdd>(ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc)
        where TRows : struct, IRowCount
        where TMultiplyAdd : struct, IMultiplyAdd128
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
            c0a = TMultiplyAdd.Apply(b, w0, c0a);
            c0b = TMultiplyAdd.Apply(b, w1, c0b);
            c0c = TMultiplyAdd.Apply(b, w2, c0c);
            c0d = TMultiplyAdd.Apply(b, w3, c0d);
            c0e = TMultiplyAdd.Apply(b, w4, c0e);
            c0f = TMultiplyAdd.Apply(b, w5, c0f);
            c0g = TMultiplyAdd.Apply(b, w6, c0g);
            c0h = TMultiplyAdd.Apply(b, w7, c0h);
            if (TRows.Value > 1)
            {
                b = Vector128.Create(Unsafe.Add(ref packedA, PackedRowStride));
                c1a = TMultiplyAdd.Apply(b, w0, c1a);
                c1b = TMultiplyAdd.Apply(b, w1, c1b);
                c1c = TMultiplyAdd.Apply(b, w2, c1c);
                c1d = TMultiplyAdd.Apply(b, w3, c1d);
                c1e = TMultiplyAdd.Apply(b, w4, c1e);
                c1f = TMultiplyAdd.Apply(b, w5, c1f);
                c1g = TMultiplyAdd.Apply(b, w6, c1g);
                c1h = TMultiplyAdd.Apply(b, w7, c1h);
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
}
