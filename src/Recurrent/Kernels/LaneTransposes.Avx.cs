using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

// Rows to lanes and back where AVX (256-bit) is there but AVX-512 is not: 8 × 8 blocks transposed in registers. Whole
// blocks, column tails (read as halves up to 4 columns, as whole rows from 5 to 7, where the rows' buffer holds those
// floats) and blocks stored as whole rows take straight-line forms without a branch; the other edges (fewer rows
// than 8, or a tail at the buffer's end) are read and written through masks (TransposeBlock8), whose branches
// cost whole blocks 2–3 times their straight-line time. The element-by-element forms cost about 1.5 ns an element on the
// Zen 3 CI machine (2026-11-29: 64 rows of 10 to lanes 0.95 µs, 64 rows of 5 back 0.42 µs, a step of T1 being ~2.3 µs in
// all); the block forms, 2026-11-30: 64 rows of 10 to lanes 170–185 ns (250–400 with every edge through masks), 64 rows
// of 5 back 80–145 ns (160–270).
internal static partial class LaneTransposes
{
    /// <summary><see cref="ToLanes"/> in 8 × 8 blocks: whole ones straight (<see cref="TransposeWholeBlock8"/>), a tail of
    /// at most 4 columns by halves (<see cref="TransposeNarrowBlock8"/>) where 4 floats of each row can be read, of 5 to 7
    /// as whole rows (<see cref="TransposeFirstColumns8"/>) where 8 can, the rest through masks
    /// (<see cref="TransposeBlock8"/>); unchecked: <see cref="ToLanes"/> checked the spans.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void ToLanes256(ReadOnlySpan<float> rows, int rowStride, int count, int width, Span<float> lanes, int laneStride)
    {
        fixed (float* from = rows)
        fixed (float* to = lanes)
        {
            for (int n0 = 0; n0 < count; n0 += 8)
            {
                int k0 = 0;
                if (count - n0 >= 8)
                {
                    for (; k0 <= width - 8; k0 += 8)
                    {
                        TransposeWholeBlock8(from + ((long)n0 * rowStride) + k0, rowStride, to + ((long)k0 * laneStride) + n0, laneStride);
                    }
                }

                for (; k0 < width; k0 += 8)
                {
                    int rowsHere = Math.Min(8, count - n0), columns = Math.Min(8, width - k0);
                    float* block = from + ((long)n0 * rowStride) + k0;
                    if (rowsHere == 8 && columns <= 4 && ((long)(n0 + 7) * rowStride) + k0 + 4 <= rows.Length)
                    {
                        TransposeNarrowBlock8(block, rowStride, columns, to + ((long)k0 * laneStride) + n0, laneStride);
                        continue;
                    }

                    if (rowsHere == 8 && ((long)(n0 + 7) * rowStride) + k0 + 8 <= rows.Length)
                    {
                        TransposeFirstColumns8(block, rowStride, columns, to + ((long)k0 * laneStride) + n0, laneStride);
                        continue;
                    }

                    TransposeBlock8(block, rowStride, rowsHere, columns, to + ((long)k0 * laneStride) + n0, laneStride, rowsHere == 8 ? 8 : 0);
                }
            }
        }
    }

    /// <summary><see cref="FromLanes"/> in 8 × 8 blocks: those of 8 sequences stored as whole rows straight
    /// (<see cref="TransposeWholeStores8"/>), or, at most 4 units wide, by halves (<see cref="TransposeToNarrowRows8"/>, a
    /// copy per width); the rest through masks (<see cref="TransposeBlock8"/>); unchecked, as <see cref="ToLanes256"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void FromLanes256(ReadOnlySpan<float> lanes, int laneStride, int count, int width, Span<float> rows, int rowStride)
    {
        fixed (float* from = lanes)
        fixed (float* to = rows)
        {
            // Dense narrow rows (width < 8, nothing between them) take whole-vector stores, rows in increasing order: each
            // store runs past its row into the next ones, which their own stores then write over. Rows whose 8 floats
            // would reach past the call's last row (n·width + 8 > count·width) are stored masked, so nothing past the
            // block is touched.
            bool spill = width < 8 && rowStride == width;
            int lastWhole = spill && count * width >= 8 ? ((count * width) - 8) / width : -1;
            for (int k0 = 0; k0 < width; k0 += 8)
            {
                // The block's lane rows as offsets from its first; rows past kks point at the first again (their lanes
                // of the transpose land past each row's kks floats, which whole stores leave to later stores).
                int kks = Math.Min(8, width - k0);
                nint o1 = kks > 1 ? laneStride : 0, o2 = kks > 2 ? 2 * laneStride : 0, o3 = kks > 3 ? 3 * laneStride : 0;
                nint o4 = kks > 4 ? 4 * laneStride : 0, o5 = kks > 5 ? 5 * laneStride : 0, o6 = kks > 6 ? 6 * laneStride : 0, o7 = kks > 7 ? 7 * laneStride : 0;
                for (int n0 = 0; n0 < count; n0 += 8)
                {
                    int sequences = Math.Min(8, count - n0);
                    int wholeRows = kks == 8 ? 8 : Math.Clamp(lastWhole - n0 + 1, 0, sequences);
                    float* block = from + ((long)k0 * laneStride) + n0, target = to + ((long)n0 * rowStride) + k0;
                    if (sequences == 8 && wholeRows == 8)
                    {
                        TransposeWholeStores8(block, o1, o2, o3, o4, o5, o6, o7, target, rowStride);
                        continue;
                    }

                    if (sequences == 8 && kks <= 4)
                    {
                        // The width as a constant in each inlined copy: its stores then take no branch.
                        switch (kks)
                        {
                            case 1:
                                TransposeToNarrowRows8(block, o1, o2, o3, 1, target, rowStride);
                                break;
                            case 2:
                                TransposeToNarrowRows8(block, o1, o2, o3, 2, target, rowStride);
                                break;
                            case 3:
                                TransposeToNarrowRows8(block, o1, o2, o3, 3, target, rowStride);
                                break;
                            default:
                                TransposeToNarrowRows8(block, o1, o2, o3, 4, target, rowStride);
                                break;
                        }

                        continue;
                    }

                    if (sequences == 8)
                    {
                        // Dense rows' last block: its last rows may not spill past the call's rows.
                        TransposeStoresRows8(block, o1, o2, o3, o4, o5, o6, o7, target, rowStride, wholeRows, kks);
                        continue;
                    }

                    TransposeBlock8(block, laneStride, kks, sequences, target, rowStride, wholeRows);
                }
            }
        }
    }

    /// <summary>dst[c, i] = src[i, c] for a whole 8 × 8 block: eight loads, 24 shuffles, eight stores, no branch (the
    /// general <see cref="TransposeBlock8"/>, branching on the block's edges, took 2–3 times as long on the Zen 3 machine,
    /// 2026-11-30: 64 rows of 8 to lanes in 130–180 ns against 65–76).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeWholeBlock8(float* src, nint srcStride, float* dst, nint dstStride) =>
        TransposeWholeStores8(src, srcStride, 2 * srcStride, 3 * srcStride, 4 * srcStride, 5 * srcStride, 6 * srcStride, 7 * srcStride, dst, dstStride);

    /// <summary>
    /// dst[c, i] = src + o(i) [c] for i, c &lt; 8 (o0 = 0): eight whole loads at those offsets, 24 shuffles (by 32 and 64
    /// bits within 128-bit lanes, then 128-bit lanes across vectors), eight whole stores; no branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeWholeStores8(float* src, nint o1, nint o2, nint o3, nint o4, nint o5, nint o6, nint o7, float* dst, nint dstStride)
    {
        Transpose8(src, o1, o2, o3, o4, o5, o6, o7, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
        Avx.Store(dst, c0);
        Avx.Store(dst + dstStride, c1);
        Avx.Store(dst + (2 * dstStride), c2);
        Avx.Store(dst + (3 * dstStride), c3);
        Avx.Store(dst + (4 * dstStride), c4);
        Avx.Store(dst + (5 * dstStride), c5);
        Avx.Store(dst + (6 * dstStride), c6);
        Avx.Store(dst + (7 * dstStride), c7);
    }

    /// <summary><see cref="TransposeWholeStores8"/>'s loads and shuffles, each destination row stored whole below
    /// <paramref name="wholeRows"/>, else as its first <paramref name="count"/> floats (<see cref="StoreRow"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeStoresRows8(
        float* src, nint o1, nint o2, nint o3, nint o4, nint o5, nint o6, nint o7, float* dst, nint dstStride, int wholeRows, int count)
    {
        Transpose8(src, o1, o2, o3, o4, o5, o6, o7, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
        StoreRow(dst, c0, 0, wholeRows, count);
        StoreRow(dst + dstStride, c1, 1, wholeRows, count);
        StoreRow(dst + (2 * dstStride), c2, 2, wholeRows, count);
        StoreRow(dst + (3 * dstStride), c3, 3, wholeRows, count);
        StoreRow(dst + (4 * dstStride), c4, 4, wholeRows, count);
        StoreRow(dst + (5 * dstStride), c5, 5, wholeRows, count);
        StoreRow(dst + (6 * dstStride), c6, 6, wholeRows, count);
        StoreRow(dst + (7 * dstStride), c7, 7, wholeRows, count);
    }

    /// <summary>Row c of the transpose of the eight rows at src + o(i) (o0 = 0) as <paramref name="c0"/> ..
    /// <paramref name="c7"/>: eight whole loads, then <see cref="Shuffle8"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8(
        float* src, nint o1, nint o2, nint o3, nint o4, nint o5, nint o6, nint o7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + o1);
        Vector256<float> r2 = Avx.LoadVector256(src + o2), r3 = Avx.LoadVector256(src + o3);
        Vector256<float> r4 = Avx.LoadVector256(src + o4), r5 = Avx.LoadVector256(src + o5);
        Vector256<float> r6 = Avx.LoadVector256(src + o6), r7 = Avx.LoadVector256(src + o7);
        Shuffle8(r0, r1, r2, r3, r4, r5, r6, r7, out c0, out c1, out c2, out c3, out c4, out c5, out c6, out c7);
    }

    /// <summary>Row c of the transpose of the 8 × 8 block whose rows are <paramref name="r0"/> .. <paramref name="r7"/>, as
    /// <paramref name="c0"/> .. <paramref name="c7"/>: 24 shuffles, by 32 and 64 bits within 128-bit lanes, then 128-bit
    /// lanes across vectors (column c is the low 128 bits of r(c) and r(c + 4) for c &lt; 4, their high 128 bits for
    /// c ≥ 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Shuffle8(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        r0 = Avx.Shuffle(t0, t2, 0x44);
        r1 = Avx.Shuffle(t0, t2, 0xEE);
        r2 = Avx.Shuffle(t1, t3, 0x44);
        r3 = Avx.Shuffle(t1, t3, 0xEE);
        r4 = Avx.Shuffle(t4, t6, 0x44);
        r5 = Avx.Shuffle(t4, t6, 0xEE);
        r6 = Avx.Shuffle(t5, t7, 0x44);
        r7 = Avx.Shuffle(t5, t7, 0xEE);
        c0 = Avx.Permute2x128(r0, r4, 0x20);
        c1 = Avx.Permute2x128(r1, r5, 0x20);
        c2 = Avx.Permute2x128(r2, r6, 0x20);
        c3 = Avx.Permute2x128(r3, r7, 0x20);
        c4 = Avx.Permute2x128(r0, r4, 0x31);
        c5 = Avx.Permute2x128(r1, r5, 0x31);
        c6 = Avx.Permute2x128(r2, r6, 0x31);
        c7 = Avx.Permute2x128(r3, r7, 0x31);
    }

    /// <summary>
    /// dst[c, i] = src + o(i) [c] for i &lt; <paramref name="srcRows"/> ≤ 4 and c &lt; 8 (o0 = 0; offsets past srcRows
    /// may repeat a row): four whole loads, 8 shuffles within 128-bit lanes, each of the 8 destination rows stored as its
    /// first srcRows floats exactly (neighbouring columns, such as the other direction's, are not touched).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeToNarrowRows8(float* src, nint o1, nint o2, nint o3, int srcRows, float* dst, nint dstStride)
    {
        Vector256<float> a0 = Avx.LoadVector256(src), a1 = Avx.LoadVector256(src + o1);
        Vector256<float> a2 = Avx.LoadVector256(src + o2), a3 = Avx.LoadVector256(src + o3);
        Vector256<float> t0 = Avx.UnpackLow(a0, a1), t1 = Avx.UnpackHigh(a0, a1);
        Vector256<float> t2 = Avx.UnpackLow(a2, a3), t3 = Avx.UnpackHigh(a2, a3);

        // Column c of the block for sequences c (low half) and c + 4 (high half).
        Vector256<float> c0 = Avx.Shuffle(t0, t2, 0x44), c1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> c2 = Avx.Shuffle(t1, t3, 0x44), c3 = Avx.Shuffle(t1, t3, 0xEE);
        StoreFirst(dst, c0.GetLower(), srcRows);
        StoreFirst(dst + dstStride, c1.GetLower(), srcRows);
        StoreFirst(dst + (2 * dstStride), c2.GetLower(), srcRows);
        StoreFirst(dst + (3 * dstStride), c3.GetLower(), srcRows);
        StoreFirst(dst + (4 * dstStride), c0.GetUpper(), srcRows);
        StoreFirst(dst + (5 * dstStride), c1.GetUpper(), srcRows);
        StoreFirst(dst + (6 * dstStride), c2.GetUpper(), srcRows);
        StoreFirst(dst + (7 * dstStride), c3.GetUpper(), srcRows);
    }

    /// <summary>The first <paramref name="count"/> (1 to 4) floats of <paramref name="value"/> to <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreFirst(float* at, Vector128<float> value, int count)
    {
        if (count == 4)
        {
            Sse.Store(at, value);
        }
        else if (count >= 2)
        {
            Sse.StoreLow(at, value);
            if (count == 3)
            {
                Sse.StoreScalar(at + 2, Sse.MoveHighToLow(value, value));
            }
        }
        else
        {
            Sse.StoreScalar(at, value);
        }
    }

    /// <summary>
    /// dst[c, i] = src[i, c] for 8 rows and <paramref name="srcCols"/> ≤ 4 columns, from 4-float reads (the caller has
    /// checked that 4 floats from each row lie in its buffer): rows i and i + 4 side by side in one vector, 8 shuffles
    /// within 128-bit lanes, srcCols whole stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeNarrowBlock8(float* src, nint srcStride, int srcCols, float* dst, nint dstStride)
    {
        Vector256<float> a0 = Vector256.Create(Sse.LoadVector128(src), Sse.LoadVector128(src + (4 * srcStride)));
        Vector256<float> a1 = Vector256.Create(Sse.LoadVector128(src + srcStride), Sse.LoadVector128(src + (5 * srcStride)));
        Vector256<float> a2 = Vector256.Create(Sse.LoadVector128(src + (2 * srcStride)), Sse.LoadVector128(src + (6 * srcStride)));
        Vector256<float> a3 = Vector256.Create(Sse.LoadVector128(src + (3 * srcStride)), Sse.LoadVector128(src + (7 * srcStride)));
        Vector256<float> t0 = Avx.UnpackLow(a0, a1), t1 = Avx.UnpackHigh(a0, a1);
        Vector256<float> t2 = Avx.UnpackLow(a2, a3), t3 = Avx.UnpackHigh(a2, a3);
        Avx.Store(dst, Avx.Shuffle(t0, t2, 0x44));
        if (srcCols > 1)
        {
            Avx.Store(dst + dstStride, Avx.Shuffle(t0, t2, 0xEE));
        }

        if (srcCols > 2)
        {
            Avx.Store(dst + (2 * dstStride), Avx.Shuffle(t1, t3, 0x44));
        }

        if (srcCols > 3)
        {
            Avx.Store(dst + (3 * dstStride), Avx.Shuffle(t1, t3, 0xEE));
        }
    }

    /// <summary>
    /// dst[c, i] = src[i, c] for 8 rows and <paramref name="srcCols"/> (5 to 7) columns, from whole 8-float reads (the
    /// caller has checked that 8 floats from each row lie in its buffer; those past srcCols are read, not used): the 8 × 8
    /// transpose of <see cref="TransposeWholeBlock8"/>, srcCols whole stores. On the Zen 3 machine (2026-11-30, best of
    /// 400 × 1000 calls, the two builds in turn) 64 rows of 5 to lanes took 128–130 ns through masks
    /// (<see cref="TransposeBlock8"/>) and 55 ns this way; 64 rows of 7 139–247 and 54–86 ns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeFirstColumns8(float* src, nint srcStride, int srcCols, float* dst, nint dstStride)
    {
        Transpose8(
            src, srcStride, 2 * srcStride, 3 * srcStride, 4 * srcStride, 5 * srcStride, 6 * srcStride, 7 * srcStride,
            out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out _);
        Avx.Store(dst, c0);
        Avx.Store(dst + dstStride, c1);
        Avx.Store(dst + (2 * dstStride), c2);
        Avx.Store(dst + (3 * dstStride), c3);
        Avx.Store(dst + (4 * dstStride), c4);
        if (srcCols > 5)
        {
            Avx.Store(dst + (5 * dstStride), c5);
        }

        if (srcCols > 6)
        {
            Avx.Store(dst + (6 * dstStride), c6);
        }
    }

    /// <summary>
    /// dst[c, i] = src[i, c] for i &lt; <paramref name="srcRows"/>, c &lt; <paramref name="srcCols"/> (both ≤ 8): whole rows
    /// loaded plainly when the block is full, else masked to its columns (rows past srcRows as zeros, their memory not
    /// read); transposed with 24 shuffles (by 32 and 64 bits within 128-bit lanes, then 128-bit lanes across vectors);
    /// srcCols rows stored: the first <paramref name="wholeRows"/> as whole vectors (8 when srcRows is 8; a caller may ask
    /// for whole stores of shorter rows where the lanes past srcRows fall on memory it rewrites later), the rest as their
    /// first srcRows floats. Nothing else of dst is written, apart from those whole stores.
    /// </summary>
    /// <remarks>Inlined into its two callers' loops (both compiled optimized from their first call): as a call of its own
    /// it cost the lane layers 2–4 % (Zen 3, 2026-11-30, two builds in one process, both slot orders: inlined, T1 ran 1.032×,
    /// T2 1.030×, GRU 10 → 5 at N = 64 1.038×, LSTM 16 → 8 at N = 256 1.018× as fast).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeBlock8(float* src, nint srcStride, int srcRows, int srcCols, float* dst, nint dstStride, int wholeRows)
    {
        Vector256<float> r0, r1, r2, r3, r4, r5, r6, r7;
        if (srcRows == 8 && srcCols == 8)
        {
            r0 = Avx.LoadVector256(src);
            r1 = Avx.LoadVector256(src + srcStride);
            r2 = Avx.LoadVector256(src + (2 * srcStride));
            r3 = Avx.LoadVector256(src + (3 * srcStride));
            r4 = Avx.LoadVector256(src + (4 * srcStride));
            r5 = Avx.LoadVector256(src + (5 * srcStride));
            r6 = Avx.LoadVector256(src + (6 * srcStride));
            r7 = Avx.LoadVector256(src + (7 * srcStride));
        }
        else
        {
            Vector256<float> columns = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(srcCols)).AsSingle(), none = Vector256<float>.Zero;
            r0 = Avx.MaskLoad(src, columns);
            r1 = Avx.MaskLoad(src + srcStride, 1 < srcRows ? columns : none);
            r2 = Avx.MaskLoad(src + (2 * srcStride), 2 < srcRows ? columns : none);
            r3 = Avx.MaskLoad(src + (3 * srcStride), 3 < srcRows ? columns : none);
            r4 = Avx.MaskLoad(src + (4 * srcStride), 4 < srcRows ? columns : none);
            r5 = Avx.MaskLoad(src + (5 * srcStride), 5 < srcRows ? columns : none);
            r6 = Avx.MaskLoad(src + (6 * srcStride), 6 < srcRows ? columns : none);
            r7 = Avx.MaskLoad(src + (7 * srcStride), 7 < srcRows ? columns : none);
        }

        Shuffle8(r0, r1, r2, r3, r4, r5, r6, r7, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
        StoreRow(dst, c0, 0, wholeRows, srcRows);
        if (srcCols > 1) StoreRow(dst + dstStride, c1, 1, wholeRows, srcRows);
        if (srcCols > 2) StoreRow(dst + (2 * dstStride), c2, 2, wholeRows, srcRows);
        if (srcCols > 3) StoreRow(dst + (3 * dstStride), c3, 3, wholeRows, srcRows);
        if (srcCols > 4) StoreRow(dst + (4 * dstStride), c4, 4, wholeRows, srcRows);
        if (srcCols > 5) StoreRow(dst + (5 * dstStride), c5, 5, wholeRows, srcRows);
        if (srcCols > 6) StoreRow(dst + (6 * dstStride), c6, 6, wholeRows, srcRows);
        if (srcCols > 7) StoreRow(dst + (7 * dstStride), c7, 7, wholeRows, srcRows);
    }

    /// <summary>Row <paramref name="row"/> of a transposed block: whole below <paramref name="wholeRows"/>, else its first
    /// <paramref name="count"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(float* at, Vector256<float> value, int row, int wholeRows, int count)
    {
        if (row < wholeRows || count == 8)
        {
            Avx.Store(at, value);
            return;
        }

        // The first count floats by 16-, 8- and 4-byte stores. A masked store (vmaskmovps) instead: on the Zen 3 machine
        // (2026-11-30, two builds in one process, both slot orders) T2 ran 1.044× and T1 1.014× as fast with these.
        Vector128<float> part = value.GetLower();
        if (count >= 4)
        {
            Sse.Store(at, part);
            at += 4;
            count -= 4;
            part = value.GetUpper();
        }

        if (count >= 2)
        {
            Sse.StoreLow(at, part);
            at += 2;
            count -= 2;
            part = Sse.MoveHighToLow(part, part);
        }

        if (count == 1)
        {
            Sse.StoreScalar(at, part);
        }
    }
}
