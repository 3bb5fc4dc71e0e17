using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// Narrow dense blocks: 16 rows of W ≤ <see cref="MaxNarrowWidth"/> floats packed one after another (row stride W, as a
/// unidirectional layer's output rows and the state rows are) are 16·W consecutive floats, W vectors, and their transpose
/// W lane rows: each vector of either side is one two-source permute per pair of vectors of the other side
/// (vpermt2ps, <c>Avx512F.PermuteVar16x32x2</c>), the pairs' results merged by lane masks. W·⌈W/2⌉ permutes and
/// W·(⌈W/2⌉ − 1) selects against <see cref="TransposeBlock"/>'s 64 shuffles, 16 masked loads and 16 masked stores.
/// Measured on the Ice Lake CI machine (2026-11-29): FromLanes of 64 sequences × 5 floats (T1's step output) 0.094 µs
/// against 0.17–0.25; layers in interleaved pairs, T1 1.04× and LSTM 10 → 5 at N = 256 1.05× as fast, both orders.
/// </summary>
internal static partial class LaneTransposes
{
    /// <summary>Widest rows taken through the narrow dense blocks (at 8: 32 permutes and 24 selects).</summary>
    internal const int MaxNarrowWidth = 8;

    /// <summary>
    /// Per width W (1..8), the permute indices and lane masks, 16 ints each, from <see cref="s_narrowOffsets"/>[W] on:
    /// first the rows-to-lanes entries [lane row u][pair p], then the lanes-to-rows entries [vector k][pair p].
    /// Lanes-to-rows, vector k lane j is row element m = 16k + j: row n = m / W, column u = m % W, which is lane n of
    /// lane row u; pair p holds lane rows 2p and 2p + 1, so the index is n + 16·(u − 2p) where u is in the pair.
    /// Rows-to-lanes, lane row u lane n is element m = n·W + u of the rows: vector k = m / 16, position m % 16; pair p
    /// holds vectors 2p and 2p + 1. Masks are all ones on the lanes the pair supplies.
    /// </summary>
    private static readonly int[] s_narrowTables = BuildNarrowTables();

    /// <summary>Where width W's entries start in <see cref="s_narrowTables"/>, for W in 1..<see cref="MaxNarrowWidth"/> + 1.</summary>
    private static readonly int[] s_narrowOffsets = BuildNarrowOffsets();

    private static int Pairs(int width) => (width + 1) / 2;

    private static int[] BuildNarrowOffsets()
    {
        var offsets = new int[MaxNarrowWidth + 2];
        for (int w = 1; w <= MaxNarrowWidth; w++)
        {
            offsets[w + 1] = offsets[w] + (2 * 2 * w * Pairs(w) * 16);
        }

        return offsets;
    }

    private static int[] BuildNarrowTables()
    {
        var tables = new int[BuildNarrowOffsets()[MaxNarrowWidth + 1]];
        for (int width = 1; width <= MaxNarrowWidth; width++)
        {
            int pairs = Pairs(width), at = BuildNarrowOffsets()[width];
            for (int u = 0; u < width; u++)
            {
                for (int p = 0; p < pairs; p++, at += 32)
                {
                    for (int n = 0; n < 16; n++)
                    {
                        int m = (n * width) + u, k = m / 16;
                        bool mine = k / 2 == p;
                        tables[at + n] = mine ? (m % 16) + (16 * (k - (2 * p))) : 0;
                        tables[at + 16 + n] = mine ? -1 : 0;
                    }
                }
            }

            for (int k = 0; k < width; k++)
            {
                for (int p = 0; p < pairs; p++, at += 32)
                {
                    for (int j = 0; j < 16; j++)
                    {
                        int m = (16 * k) + j, n = m / width, u = m % width;
                        bool mine = u / 2 == p;
                        tables[at + j] = mine ? n + (16 * (u - (2 * p))) : 0;
                        tables[at + 16 + j] = mine ? -1 : 0;
                    }
                }
            }
        }

        return tables;
    }

    /// <summary>16 rows of <paramref name="width"/> (≤ 8) floats, consecutive from <paramref name="src"/>, to lane rows
    /// u &lt; width at <paramref name="dst"/> + u·<paramref name="dstStride"/> (16 floats each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void NarrowToLanes(float* src, int width, float* dst, nint dstStride)
    {
        // The block's vectors; those past the width are zeros (an odd width's last pair has one).
        Vector512<float> zero = Vector512<float>.Zero;
        Vector512<float> s0 = Vector512.Load(src);
        Vector512<float> s1 = width > 1 ? Vector512.Load(src + 16) : zero;
        Vector512<float> s2 = width > 2 ? Vector512.Load(src + 32) : zero;
        Vector512<float> s3 = width > 3 ? Vector512.Load(src + 48) : zero;
        Vector512<float> s4 = width > 4 ? Vector512.Load(src + 64) : zero;
        Vector512<float> s5 = width > 5 ? Vector512.Load(src + 80) : zero;
        Vector512<float> s6 = width > 6 ? Vector512.Load(src + 96) : zero;
        Vector512<float> s7 = width > 7 ? Vector512.Load(src + 112) : zero;
        int pairs = Pairs(width);
        ref int entry = ref s_narrowTables[s_narrowOffsets[width]];
        for (int u = 0; u < width; u++)
        {
            Vector512.Store(Gather(s0, s1, s2, s3, s4, s5, s6, s7, pairs, ref entry), dst + (u * dstStride));
            entry = ref Unsafe.Add(ref entry, pairs * 32);
        }
    }

    /// <summary>The inverse: lane rows u &lt; <paramref name="width"/> (≤ 8) at <paramref name="src"/> +
    /// u·<paramref name="srcStride"/> to 16 rows of width floats, consecutive from <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void NarrowFromLanes(float* src, nint srcStride, int width, float* dst)
    {
        Vector512<float> zero = Vector512<float>.Zero;
        Vector512<float> s0 = Vector512.Load(src);
        Vector512<float> s1 = width > 1 ? Vector512.Load(src + srcStride) : zero;
        Vector512<float> s2 = width > 2 ? Vector512.Load(src + (2 * srcStride)) : zero;
        Vector512<float> s3 = width > 3 ? Vector512.Load(src + (3 * srcStride)) : zero;
        Vector512<float> s4 = width > 4 ? Vector512.Load(src + (4 * srcStride)) : zero;
        Vector512<float> s5 = width > 5 ? Vector512.Load(src + (5 * srcStride)) : zero;
        Vector512<float> s6 = width > 6 ? Vector512.Load(src + (6 * srcStride)) : zero;
        Vector512<float> s7 = width > 7 ? Vector512.Load(src + (7 * srcStride)) : zero;
        int pairs = Pairs(width);
        ref int entry = ref s_narrowTables[s_narrowOffsets[width] + (width * pairs * 32)];
        for (int k = 0; k < width; k++)
        {
            Vector512.Store(Gather(s0, s1, s2, s3, s4, s5, s6, s7, pairs, ref entry), dst + (16 * k));
            entry = ref Unsafe.Add(ref entry, pairs * 32);
        }
    }

    /// <summary>One output vector: per pair p of (s0..s7), a two-source permute by entry p's indices, kept on its mask's
    /// lanes (entry p: 16 indices, then 16 mask ints, 32 ints on from <paramref name="entry"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gather(
        Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3,
        Vector512<float> s4, Vector512<float> s5, Vector512<float> s6, Vector512<float> s7, int pairs, ref int entry)
    {
        Vector512<float> result = Avx512F.PermuteVar16x32x2(s0, Vector512.LoadUnsafe(ref entry), s1);
        if (pairs > 1)
        {
            result = Vector512.ConditionalSelect(Vector512.LoadUnsafe(ref entry, 48).AsSingle(), Avx512F.PermuteVar16x32x2(s2, Vector512.LoadUnsafe(ref entry, 32), s3), result);
        }

        if (pairs > 2)
        {
            result = Vector512.ConditionalSelect(Vector512.LoadUnsafe(ref entry, 80).AsSingle(), Avx512F.PermuteVar16x32x2(s4, Vector512.LoadUnsafe(ref entry, 64), s5), result);
        }

        if (pairs > 3)
        {
            result = Vector512.ConditionalSelect(Vector512.LoadUnsafe(ref entry, 112).AsSingle(), Avx512F.PermuteVar16x32x2(s6, Vector512.LoadUnsafe(ref entry, 96), s7), result);
        }

        return result;
    }
}
