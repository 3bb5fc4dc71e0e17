using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Vector256 row kernels for 2 to 4 rows with compact (bfloat16) panels: the float four- and two-row kernels
// (RowTileFourRows256, RowTileTwoRows256) over the compact panels, each W vector widened in a register as it is loaded.
// A compact kk is 16 32-bit lanes, lane j holding columns j (low half) and 16 + j (high half): 8 lanes loaded and
// shifted up 16 bits are columns 0–7 or 8–15, masked they are columns 16–23 or 24–31. So each pass takes the vectors of
// one kind (shifted or masked) from the three panels, and its C columns are not side by side as in the float passes
// (IVectors256.ColumnStep, PairStep). Per W vector: one load of 32 bytes (the float kernels load 32 bytes too) and one
// shift or mask. The passes of a K chunk read the same lines: the first brings them to L1, so a chunk reads half the
// bytes from L2 or L3 that float panels need.
// Without these kernels a product of 2 to 4 rows widened the compact weights slice by slice into a buffer and ran the
// float kernels on it. Measured on the Zen 5 machine with DOTNET_EnableAVX512=0 (2026-12-02, float32 / bfloat16 time of
// the same layer in one process, calls in turn, 1 thread): LSTM 256, 512 and 1024 at batch 2, 3 and 4 went from
// 0.67–0.76 to 0.90–1.12 (LSTM 256 and 512 at batch 3 and 4 stay below 1, 0.90–0.97: the float kernels run near the
// FMA peak there and these add a shift or mask per W vector). The K chunk is the float kernels' (MultiRowChunkK, here
// 24 KiB of compact W), not re-measured for these. No size limit, unlike the float kernels (MultiRowMaxWeightBytes): at 4 ×
// 1024 × 4096 (16 MiB of float W) the widened slices ran at 0.69 of the float product, these at 1.16–1.27.
// Same chains as the float kernels (one fused multiply-add per kk in increasing kk, chunks from C), so the same bits as
// the float product of the rounded weights.
internal static partial class Gemm
{
    /// <summary>Lanes of a compact kk (16: 32 bfloat16 values), the kk stride of compact panels in 32-bit units.</summary>
    private const int CompactKkLanes = PackedMatrix.PanelWidth / 2;

    /// <summary>How a multi-row kernel pass reads one W vector (8 columns) of a kk, and where its vectors' C columns lie.</summary>
    private interface IVectors256
    {
        /// <summary>C columns between the 3 vectors of a <see cref="RowsThreeVectors256"/> pass.</summary>
        static abstract nuint ColumnStep { get; }

        /// <summary>C columns between the 3 pairs of vectors of a <see cref="TwoRowsSixVectors256"/> pass (the 2 of a pair
        /// are side by side).</summary>
        static abstract nuint PairStep { get; }

        static abstract Vector256<float> Load(ref float w, nuint offset);
    }

    /// <summary>Float panels or column vectors: a pass's vectors are side by side.</summary>
    private readonly struct FloatVectors256 : IVectors256
    {
        public static nuint ColumnStep => 8;

        public static nuint PairStep => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ref float w, nuint offset) => Vector256.LoadUnsafe(ref w, offset);
    }

    /// <summary>Compact panels, the low halves of 8 lanes (columns 0–7 or 8–15 of a panel); a pass's vectors lie in
    /// different panels, 32 columns apart.</summary>
    private readonly struct CompactLowVectors256 : IVectors256
    {
        public static nuint ColumnStep => PackedMatrix.PanelWidth;

        public static nuint PairStep => PackedMatrix.PanelWidth;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ref float w, nuint offset)
            => Vector256.ShiftLeft(Vector256.LoadUnsafe(ref Unsafe.As<float, uint>(ref w), offset), 16).AsSingle();
    }

    /// <summary>Compact panels, the high halves of 8 lanes (columns 16–23 or 24–31).</summary>
    private readonly struct CompactHighVectors256 : IVectors256
    {
        public static nuint ColumnStep => PackedMatrix.PanelWidth;

        public static nuint PairStep => PackedMatrix.PanelWidth;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ref float w, nuint offset)
            => (Vector256.LoadUnsafe(ref Unsafe.As<float, uint>(ref w), offset) & Vector256.Create(0xFFFF0000u)).AsSingle();
    }

    /// <summary><see cref="RowTileFourRows256"/> for 4 or 3 rows (<typeparamref name="TRows"/>) over 3 compact panels
    /// (<paramref name="panel"/> and <paramref name="panelStride"/> in 32-bit lanes): per K chunk, 4 passes, one per
    /// quarter of the panels' columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTileRowsCompact256<TRows>(ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
        where TRows : struct, IRowCount
    {
        for (int k0 = 0; k0 < k; k0 += MultiRowChunkK)
        {
            int kc = Math.Min(MultiRowChunkK, k - k0);
            ref float s = ref k0 == 0 ? ref src : ref dst;
            nint sStride = k0 == 0 ? srcStride : ldc;
            ref float ak = ref Unsafe.Add(ref a, k0);
            ref float w = ref Unsafe.Add(ref panel, k0 * CompactKkLanes);
            for (int half = 0; half < CompactKkLanes; half += 8)
            {
                ref float w0 = ref Unsafe.Add(ref w, half);
                ref float w1 = ref Unsafe.Add(ref w0, panelStride);
                ref float w2 = ref Unsafe.Add(ref w0, 2 * panelStride);
                RowsThreeVectors256<TRows, CompactLowVectors256>(
                    ref ak, lda, ref w0, ref w1, ref w2, CompactKkLanes, kc, ref Unsafe.Add(ref s, half), sStride, ref Unsafe.Add(ref dst, half), ldc);
                RowsThreeVectors256<TRows, CompactHighVectors256>(
                    ref ak, lda, ref w0, ref w1, ref w2, CompactKkLanes, kc, ref Unsafe.Add(ref s, CompactKkLanes + half), sStride,
                    ref Unsafe.Add(ref dst, CompactKkLanes + half), ldc);
            }
        }
    }

    /// <summary><see cref="RowTileTwoRows256"/> over 3 compact panels: per K chunk, 2 passes, the shifted halves (columns
    /// 0–15 of each panel) and the masked ones (16–31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTileTwoRowsCompact256(ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
    {
        for (int k0 = 0; k0 < k; k0 += MultiRowChunkK)
        {
            int kc = Math.Min(MultiRowChunkK, k - k0);
            ref float s = ref k0 == 0 ? ref src : ref dst;
            nint sStride = k0 == 0 ? srcStride : ldc;
            ref float ak = ref Unsafe.Add(ref a, k0);
            ref float w0 = ref Unsafe.Add(ref panel, k0 * CompactKkLanes);
            ref float w1 = ref Unsafe.Add(ref w0, panelStride);
            ref float w2 = ref Unsafe.Add(ref w0, 2 * panelStride);
            TwoRowsSixVectors256<CompactLowVectors256>(
                ref ak, lda, ref w0, ref Unsafe.Add(ref w0, 8), ref w1, ref Unsafe.Add(ref w1, 8), ref w2, ref Unsafe.Add(ref w2, 8), CompactKkLanes, kc,
                ref s, sStride, ref dst, ldc);
            TwoRowsSixVectors256<CompactHighVectors256>(
                ref ak, lda, ref w0, ref Unsafe.Add(ref w0, 8), ref w1, ref Unsafe.Add(ref w1, 8), ref w2, ref Unsafe.Add(ref w2, 8), CompactKkLanes, kc,
                ref Unsafe.Add(ref s, CompactKkLanes), sStride, ref Unsafe.Add(ref dst, CompactKkLanes), ldc);
        }
    }
}
