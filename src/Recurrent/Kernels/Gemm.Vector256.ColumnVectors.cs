using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Vector256 products of 2, 3 and 4 rows over column vectors (PackedMatrix.ColumnVectors.cs): each vector of W a
// sequential stream of 8 floats a kk, so a pass over 2–4 of them reads 2–4 streams front to back, whatever panels they
// come from. Unpacked A, the whole k in one pass (no K chunks: nothing is re-read from a later pass), the same chains as
// every other kernel (start from bias / 0 / C, one fused multiply-add per kk in increasing order).
//
// Measured on the Zen 3 machine (2026-11-30; best and median GFLOP/s). Prototypes in one process, alternating calls:
// 4 rows, W 1 MiB (in L3): 3-vector passes 89–91 and 69–70, 2-vector passes 84–87 and 57–59, the panels' four-row
// kernel 70–73 and 46–54; W 384 KiB (in L2): 97, 90–96 and 83–88. 2 rows: 4-vector passes 70 and 54–57 (W 1 MiB,
// bound by L3's bandwidth) and 81–85 (in L2), 6-vector passes about the same, the panels' kernel 63–65 and 76–79.
// These kernels against the panels (Gemm.Multiply, separate runs): 4 × 256 × 1024 89–90 against 77–78, 4 × 512 × 4096
// (8 MiB) 88 against 55 (blocked loops), 4 × 1024 × 4096 (16 MiB) 46–51 against 35, 2 × 1024 × 4096 32–33 against 20,
// 3 × 256 × 1024 88 against 83–87, 3 × 512 × 2048 91 against 78, 3 × 1024 × 4096 49–64 against 24–28. Layers, two builds
// in one process, both slot orders (old/new, new/old): LSTM 256 at batch 4 (S2) 1.134, 1.122 / 0.932, 0.923; the same
// on 2 threads 1.119, 1.102 / 0.910, 0.914; GRU 512 at batch 4 1.159, 1.153 / 0.893, 0.898; LSTM 1024 at batch 4 1.155
// / 0.899; LSTM 512 at batch 2 1.098 / 0.913; LSTM 256 at batch 3 1.057 / 0.973; batch 1 and 64 unchanged.
// More rows, 4 at a time against the blocked loops: see Gemm.ColumnVectorBlocksFromBytes.
internal static partial class Gemm
{
    /// <summary>
    /// 4 rows × <paramref name="vectorCount"/> column vectors: passes of 3 vectors (12 accumulators, as
    /// <see cref="RowTileFourRows256"/>), and where the count leaves 1 or 2 over, the last 4 or 2 vectors in passes of 2
    /// (8 accumulators). Descending runs the same passes back to front.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnVectorsFourRows256(
        ref float a, nint lda, ref float vectors, nint vectorStride, int vectorCount, int k, ref float src, nint srcStride, bool srcAdvances,
        ref float dst, nint ldc, PanelOrder order)
    {
        Debug.Assert(vectorCount > 0 && vectorCount % 4 == 0, "whole panels");
        int rest = vectorCount % 3, pairs = rest == 1 ? 2 : rest == 2 ? 1 : 0;
        int triples = (vectorCount - (2 * pairs)) / 3, passes = triples + pairs;
        nint srcStep = srcAdvances ? 1 : 0;
        for (int i = 0; i < passes; i++)
        {
            int pass = order == PanelOrder.Descending ? passes - 1 - i : i;
            int v = pass < triples ? 3 * pass : (3 * triples) + (2 * (pass - triples));
            ref float w = ref Unsafe.Add(ref vectors, v * vectorStride);
            ref float s = ref Unsafe.Add(ref src, srcStep * 8 * v);
            ref float d = ref Unsafe.Add(ref dst, 8 * v);
            if (pass < triples)
            {
                RowsThreeVectors256<R4, FloatVectors256>(
                    ref a, lda, ref w, ref Unsafe.Add(ref w, vectorStride), ref Unsafe.Add(ref w, 2 * vectorStride), PackedMatrix.ColumnVectorWidth, k,
                    ref s, srcStride, ref d, ldc);
            }
            else
            {
                FourRowsTwoVectors256(ref a, lda, ref w, ref Unsafe.Add(ref w, vectorStride), k, ref s, srcStride, ref d, ldc);
            }
        }
    }

    /// <summary>2 or 3 rows (<typeparamref name="TRows"/>) × <paramref name="vectorCount"/> column vectors in passes of 4
    /// (8 or 12 accumulators, one panel's columns, each step column by column as <see cref="Tile256{TRows, TWeights}"/>).
    /// Descending runs the passes back to front.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnVectorsPanelPasses256<TRows>(
        ref float a, nint lda, ref float vectors, nint vectorStride, int vectorCount, int k, ref float src, nint srcStride, bool srcAdvances,
        ref float dst, nint ldc, PanelOrder order)
        where TRows : struct, IRowCount
    {
        Debug.Assert(vectorCount > 0 && vectorCount % 4 == 0, "whole panels");
        int passes = vectorCount / 4;
        nint srcStep = srcAdvances ? 1 : 0;
        for (int i = 0; i < passes; i++)
        {
            int v = 4 * (order == PanelOrder.Descending ? passes - 1 - i : i);
            RowsFourVectors256<TRows>(
                ref a, lda, ref Unsafe.Add(ref vectors, v * vectorStride), vectorStride, k, ref Unsafe.Add(ref src, srcStep * 8 * v), srcStride,
                ref Unsafe.Add(ref dst, 8 * v), ldc);
        }
    }

    /// <summary>2 or 3 rows × 4 column vectors, <paramref name="vectorStride"/> floats apart: accumulators r{row}{vector}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsFourVectors256<TRows>(ref float a, nint lda, ref float w, nint vectorStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        where TRows : struct, IRowCount
    {
        Debug.Assert(TRows.Value is 2 or 3, "2 or 3 rows");
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float s1 = ref Unsafe.Add(ref src, srcStride);
        ref float s2 = ref Unsafe.Add(ref src, 2 * srcStride);
        ref float w1 = ref Unsafe.Add(ref w, vectorStride);
        ref float w2 = ref Unsafe.Add(ref w, 2 * vectorStride);
        ref float w3 = ref Unsafe.Add(ref w, 3 * vectorStride);
        Vector256<float> r00 = Vector256.LoadUnsafe(ref src), r01 = Vector256.LoadUnsafe(ref src, 8);
        Vector256<float> r02 = Vector256.LoadUnsafe(ref src, 16), r03 = Vector256.LoadUnsafe(ref src, 24);
        Vector256<float> r10 = Vector256.LoadUnsafe(ref s1), r11 = Vector256.LoadUnsafe(ref s1, 8);
        Vector256<float> r12 = Vector256.LoadUnsafe(ref s1, 16), r13 = Vector256.LoadUnsafe(ref s1, 24);
        Vector256<float> r20 = default, r21 = default, r22 = default, r23 = default;
        if (TRows.Value > 2)
        {
            r20 = Vector256.LoadUnsafe(ref s2);
            r21 = Vector256.LoadUnsafe(ref s2, 8);
            r22 = Vector256.LoadUnsafe(ref s2, 16);
            r23 = Vector256.LoadUnsafe(ref s2, 24);
        }

        nuint offset = 0;
        for (nuint kk = 0; kk < (nuint)k; kk++)
        {
            Vector256<float> b0 = Vector256.Create(Unsafe.Add(ref a, kk));
            Vector256<float> b1 = Vector256.Create(Unsafe.Add(ref a1, kk));
            Vector256<float> b2 = TRows.Value > 2 ? Vector256.Create(Unsafe.Add(ref a2, kk)) : default;
            Vector256<float> v = Vector256.LoadUnsafe(ref w, offset);
            r00 = Vector256.FusedMultiplyAdd(b0, v, r00);
            r10 = Vector256.FusedMultiplyAdd(b1, v, r10);
            if (TRows.Value > 2) r20 = Vector256.FusedMultiplyAdd(b2, v, r20);
            v = Vector256.LoadUnsafe(ref w1, offset);
            r01 = Vector256.FusedMultiplyAdd(b0, v, r01);
            r11 = Vector256.FusedMultiplyAdd(b1, v, r11);
            if (TRows.Value > 2) r21 = Vector256.FusedMultiplyAdd(b2, v, r21);
            v = Vector256.LoadUnsafe(ref w2, offset);
            r02 = Vector256.FusedMultiplyAdd(b0, v, r02);
            r12 = Vector256.FusedMultiplyAdd(b1, v, r12);
            if (TRows.Value > 2) r22 = Vector256.FusedMultiplyAdd(b2, v, r22);
            v = Vector256.LoadUnsafe(ref w3, offset);
            r03 = Vector256.FusedMultiplyAdd(b0, v, r03);
            r13 = Vector256.FusedMultiplyAdd(b1, v, r13);
            if (TRows.Value > 2) r23 = Vector256.FusedMultiplyAdd(b2, v, r23);
            offset += PackedMatrix.ColumnVectorWidth;
        }

        ref float d1 = ref Unsafe.Add(ref dst, ldc);
        r00.StoreUnsafe(ref dst);
        r01.StoreUnsafe(ref dst, 8);
        r02.StoreUnsafe(ref dst, 16);
        r03.StoreUnsafe(ref dst, 24);
        r10.StoreUnsafe(ref d1);
        r11.StoreUnsafe(ref d1, 8);
        r12.StoreUnsafe(ref d1, 16);
        r13.StoreUnsafe(ref d1, 24);
        if (TRows.Value > 2)
        {
            ref float d2 = ref Unsafe.Add(ref dst, 2 * ldc);
            r20.StoreUnsafe(ref d2);
            r21.StoreUnsafe(ref d2, 8);
            r22.StoreUnsafe(ref d2, 16);
            r23.StoreUnsafe(ref d2, 24);
        }
    }

    /// <summary>4 rows × 2 column vectors: accumulators r{row}{vector}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourRowsTwoVectors256(ref float a, nint lda, ref float wa, ref float wb, int k, ref float src, nint srcStride, ref float dst, nint ldc)
    {
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref float a3 = ref Unsafe.Add(ref a, 3 * lda);
        ref float s1 = ref Unsafe.Add(ref src, srcStride);
        ref float s2 = ref Unsafe.Add(ref src, 2 * srcStride);
        ref float s3 = ref Unsafe.Add(ref src, 3 * srcStride);
        Vector256<float> r0a = Vector256.LoadUnsafe(ref src), r0b = Vector256.LoadUnsafe(ref src, 8);
        Vector256<float> r1a = Vector256.LoadUnsafe(ref s1), r1b = Vector256.LoadUnsafe(ref s1, 8);
        Vector256<float> r2a = Vector256.LoadUnsafe(ref s2), r2b = Vector256.LoadUnsafe(ref s2, 8);
        Vector256<float> r3a = Vector256.LoadUnsafe(ref s3), r3b = Vector256.LoadUnsafe(ref s3, 8);
        nuint offset = 0;
        for (nuint kk = 0; kk < (nuint)k; kk++)
        {
            Vector256<float> va = Vector256.LoadUnsafe(ref wa, offset);
            Vector256<float> vb = Vector256.LoadUnsafe(ref wb, offset);
            Vector256<float> b = Vector256.Create(Unsafe.Add(ref a, kk));
            r0a = Vector256.FusedMultiplyAdd(b, va, r0a);
            r0b = Vector256.FusedMultiplyAdd(b, vb, r0b);
            b = Vector256.Create(Unsafe.Add(ref a1, kk));
            r1a = Vector256.FusedMultiplyAdd(b, va, r1a);
            r1b = Vector256.FusedMultiplyAdd(b, vb, r1b);
            b = Vector256.Create(Unsafe.Add(ref a2, kk));
            r2a = Vector256.FusedMultiplyAdd(b, va, r2a);
            r2b = Vector256.FusedMultiplyAdd(b, vb, r2b);
            b = Vector256.Create(Unsafe.Add(ref a3, kk));
            r3a = Vector256.FusedMultiplyAdd(b, va, r3a);
            r3b = Vector256.FusedMultiplyAdd(b, vb, r3b);
            offset += PackedMatrix.ColumnVectorWidth;
        }

        ref float d1 = ref Unsafe.Add(ref dst, ldc);
        ref float d2 = ref Unsafe.Add(ref dst, 2 * ldc);
        ref float d3 = ref Unsafe.Add(ref dst, 3 * ldc);
        r0a.StoreUnsafe(ref dst);
        r0b.StoreUnsafe(ref dst, 8);
        r1a.StoreUnsafe(ref d1);
        r1b.StoreUnsafe(ref d1, 8);
        r2a.StoreUnsafe(ref d2);
        r2b.StoreUnsafe(ref d2, 8);
        r3a.StoreUnsafe(ref d3);
        r3b.StoreUnsafe(ref d3, 8);
    }
}
