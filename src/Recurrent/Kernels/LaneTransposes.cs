using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// Rows to lanes and back for <see cref="LaneSteps"/>: a rows × width block (row n at n·rowStride) and its transpose in a
/// lane buffer (element (n, kk) at kk·laneStride + n, laneStride a whole number of 16-float vectors). With AVX-512, 16 × 16
/// blocks are transposed in registers; with AVX, 8 × 8 blocks (LaneTransposes.Avx.cs); with Vector128, four rows at a time
/// (LaneTransposes.Vector128.cs); elsewhere element by element (same results: only copies).
/// </summary>
internal static partial class LaneTransposes
{
    private const int Lanes = LaneSteps.Lanes;

    /// <summary>
    /// Transposes <paramref name="count"/> rows of <paramref name="width"/> floats (row n at n·<paramref name="rowStride"/>)
    /// into <paramref name="lanes"/>: element (n, kk) to kk·<paramref name="laneStride"/> + n; nothing else of
    /// <paramref name="lanes"/> is written.
    /// </summary>
    public static void ToLanes(ReadOnlySpan<float> rows, int rowStride, int count, int width, Span<float> lanes, int laneStride)
    {
        if (count == 0 || width == 0)
        {
            return;
        }

        if (count > laneStride || laneStride % Lanes != 0 || ((count - 1) * (long)rowStride) + width > rows.Length || ((width - 1) * (long)laneStride) + count > lanes.Length)
        {
            throw new ArgumentException($"{count} rows of {width} (stride {rowStride}) do not fit the spans or lane stride {laneStride}.", nameof(rows));
        }

        if (Avx512F.IsSupported)
        {
            ToLanes512(rows, rowStride, count, width, lanes, laneStride);
        }
        else if (Avx.IsSupported)
        {
            ToLanes256(rows, rowStride, count, width, lanes, laneStride);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            ToLanes128(rows, rowStride, count, width, lanes, laneStride);
        }
        else
        {
            ToLanesScalar(rows, rowStride, count, width, lanes, laneStride);
        }
    }

    /// <summary>The inverse of <see cref="ToLanes"/>: element kk·<paramref name="laneStride"/> + n of
    /// <paramref name="lanes"/> to row n, column kk of <paramref name="rows"/>, for n &lt; count, kk &lt; width (nothing
    /// else of <paramref name="rows"/> is touched).</summary>
    public static void FromLanes(ReadOnlySpan<float> lanes, int laneStride, int count, int width, Span<float> rows, int rowStride)
    {
        if (count == 0 || width == 0)
        {
            return;
        }

        if (count > laneStride || laneStride % Lanes != 0 || ((count - 1) * (long)rowStride) + width > rows.Length || ((width - 1) * (long)laneStride) + count > lanes.Length)
        {
            throw new ArgumentException($"{count} rows of {width} (stride {rowStride}) do not fit the spans or lane stride {laneStride}.", nameof(rows));
        }

        if (Avx512F.IsSupported)
        {
            FromLanes512(lanes, laneStride, count, width, rows, rowStride);
        }
        else if (Avx.IsSupported)
        {
            FromLanes256(lanes, laneStride, count, width, rows, rowStride);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            FromLanes128(lanes, laneStride, count, width, rows, rowStride);
        }
        else
        {
            FromLanesScalar(lanes, laneStride, count, width, rows, rowStride);
        }
    }

    /// <summary><see cref="ToLanes"/> one element at a time (any machine; the tests' reference for the AVX-512 form).</summary>
    internal static void ToLanesScalar(ReadOnlySpan<float> rows, int rowStride, int count, int width, Span<float> lanes, int laneStride)
    {
        for (int n = 0; n < count; n++)
        {
            ReadOnlySpan<float> row = rows.Slice(n * rowStride, width);
            for (int kk = 0; kk < width; kk++)
            {
                lanes[(kk * laneStride) + n] = row[kk];
            }
        }
    }

    /// <summary><see cref="FromLanes"/> one element at a time.</summary>
    internal static void FromLanesScalar(ReadOnlySpan<float> lanes, int laneStride, int count, int width, Span<float> rows, int rowStride)
    {
        for (int n = 0; n < count; n++)
        {
            Span<float> row = rows.Slice(n * rowStride, width);
            for (int kk = 0; kk < width; kk++)
            {
                row[kk] = lanes[(kk * laneStride) + n];
            }
        }
    }

    /// <summary><see cref="ToLanes"/> in 16 × 16 blocks transposed in registers (<see cref="TransposeBlock"/>); whole blocks
    /// of narrow dense rows (width ≤ 8, row stride = width) by permutes (<see cref="NarrowToLanes"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void ToLanes512(ReadOnlySpan<float> rows, int rowStride, int count, int width, Span<float> lanes, int laneStride)
    {
        fixed (float* from = rows)
        fixed (float* to = lanes)
        {
            bool narrow = width <= MaxNarrowWidth && rowStride == width;
            for (int n0 = 0; n0 < count; n0 += Lanes)
            {
                if (narrow && count - n0 >= Lanes)
                {
                    NarrowToLanes(from + ((long)n0 * rowStride), width, to + n0, laneStride);
                    continue;
                }

                for (int k0 = 0; k0 < width; k0 += Lanes)
                {
                    TransposeBlock(from + ((long)n0 * rowStride) + k0, rowStride, Math.Min(Lanes, count - n0), Math.Min(Lanes, width - k0), to + ((long)k0 * laneStride) + n0, laneStride);
                }
            }
        }
    }

    /// <summary><see cref="FromLanes"/> in 16 × 16 blocks transposed in registers (<see cref="TransposeBlock"/>); whole blocks
    /// of narrow dense rows by permutes (<see cref="NarrowFromLanes"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void FromLanes512(ReadOnlySpan<float> lanes, int laneStride, int count, int width, Span<float> rows, int rowStride)
    {
        fixed (float* from = lanes)
        fixed (float* to = rows)
        {
            bool narrow = width <= MaxNarrowWidth && rowStride == width;
            for (int n0 = 0; n0 < count; n0 += Lanes)
            {
                if (narrow && count - n0 >= Lanes)
                {
                    NarrowFromLanes(from + n0, laneStride, width, to + ((long)n0 * rowStride));
                    continue;
                }

                for (int k0 = 0; k0 < width; k0 += Lanes)
                {
                    TransposeBlock(from + ((long)k0 * laneStride) + n0, laneStride, Math.Min(Lanes, width - k0), Math.Min(Lanes, count - n0), to + ((long)n0 * rowStride) + k0, rowStride);
                }
            }
        }
    }

    /// <summary>
    /// dst[c, i] = src[i, c] for i &lt; <paramref name="srcRows"/>, c &lt; <paramref name="srcCols"/> (both ≤ 16): the
    /// block's rows loaded masked to its columns (rows past srcRows as zeros, their memory not read), transposed with 64
    /// shuffles (within 128-bit lanes by 32 and 64 bits, then 128-bit lanes across vectors), stored masked to srcRows
    /// lanes; nothing else of dst is written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TransposeBlock(float* src, nint srcStride, int srcRows, int srcCols, float* dst, nint dstStride)
    {
        Vector512<float> zero = Vector512<float>.Zero, none = zero;
        Vector512<float> columns = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(srcCols)).AsSingle();
        Vector512<float> lanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(srcRows)).AsSingle();
        Vector512<float> r0 = Avx512F.MaskLoad(src + (0 * srcStride), 0 < srcRows ? columns : none, zero);
        Vector512<float> r1 = Avx512F.MaskLoad(src + (1 * srcStride), 1 < srcRows ? columns : none, zero);
        Vector512<float> r2 = Avx512F.MaskLoad(src + (2 * srcStride), 2 < srcRows ? columns : none, zero);
        Vector512<float> r3 = Avx512F.MaskLoad(src + (3 * srcStride), 3 < srcRows ? columns : none, zero);
        Vector512<float> r4 = Avx512F.MaskLoad(src + (4 * srcStride), 4 < srcRows ? columns : none, zero);
        Vector512<float> r5 = Avx512F.MaskLoad(src + (5 * srcStride), 5 < srcRows ? columns : none, zero);
        Vector512<float> r6 = Avx512F.MaskLoad(src + (6 * srcStride), 6 < srcRows ? columns : none, zero);
        Vector512<float> r7 = Avx512F.MaskLoad(src + (7 * srcStride), 7 < srcRows ? columns : none, zero);
        Vector512<float> r8 = Avx512F.MaskLoad(src + (8 * srcStride), 8 < srcRows ? columns : none, zero);
        Vector512<float> r9 = Avx512F.MaskLoad(src + (9 * srcStride), 9 < srcRows ? columns : none, zero);
        Vector512<float> r10 = Avx512F.MaskLoad(src + (10 * srcStride), 10 < srcRows ? columns : none, zero);
        Vector512<float> r11 = Avx512F.MaskLoad(src + (11 * srcStride), 11 < srcRows ? columns : none, zero);
        Vector512<float> r12 = Avx512F.MaskLoad(src + (12 * srcStride), 12 < srcRows ? columns : none, zero);
        Vector512<float> r13 = Avx512F.MaskLoad(src + (13 * srcStride), 13 < srcRows ? columns : none, zero);
        Vector512<float> r14 = Avx512F.MaskLoad(src + (14 * srcStride), 14 < srcRows ? columns : none, zero);
        Vector512<float> r15 = Avx512F.MaskLoad(src + (15 * srcStride), 15 < srcRows ? columns : none, zero);
        Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1);
        Vector512<float> t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        Vector512<float> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5);
        Vector512<float> t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
        Vector512<float> t8 = Avx512F.UnpackLow(r8, r9), t9 = Avx512F.UnpackHigh(r8, r9);
        Vector512<float> t10 = Avx512F.UnpackLow(r10, r11), t11 = Avx512F.UnpackHigh(r10, r11);
        Vector512<float> t12 = Avx512F.UnpackLow(r12, r13), t13 = Avx512F.UnpackHigh(r12, r13);
        Vector512<float> t14 = Avx512F.UnpackLow(r14, r15), t15 = Avx512F.UnpackHigh(r14, r15);
        r0 = Low64(t0, t2);
        r1 = High64(t0, t2);
        r2 = Low64(t1, t3);
        r3 = High64(t1, t3);
        r4 = Low64(t4, t6);
        r5 = High64(t4, t6);
        r6 = Low64(t5, t7);
        r7 = High64(t5, t7);
        r8 = Low64(t8, t10);
        r9 = High64(t8, t10);
        r10 = Low64(t9, t11);
        r11 = High64(t9, t11);
        r12 = Low64(t12, t14);
        r13 = High64(t12, t14);
        r14 = Low64(t13, t15);
        r15 = High64(t13, t15);
        t0 = Avx512F.Shuffle4x128(r0, r4, 0x88);
        t1 = Avx512F.Shuffle4x128(r1, r5, 0x88);
        t2 = Avx512F.Shuffle4x128(r2, r6, 0x88);
        t3 = Avx512F.Shuffle4x128(r3, r7, 0x88);
        t4 = Avx512F.Shuffle4x128(r0, r4, 0xDD);
        t5 = Avx512F.Shuffle4x128(r1, r5, 0xDD);
        t6 = Avx512F.Shuffle4x128(r2, r6, 0xDD);
        t7 = Avx512F.Shuffle4x128(r3, r7, 0xDD);
        t8 = Avx512F.Shuffle4x128(r8, r12, 0x88);
        t9 = Avx512F.Shuffle4x128(r9, r13, 0x88);
        t10 = Avx512F.Shuffle4x128(r10, r14, 0x88);
        t11 = Avx512F.Shuffle4x128(r11, r15, 0x88);
        t12 = Avx512F.Shuffle4x128(r8, r12, 0xDD);
        t13 = Avx512F.Shuffle4x128(r9, r13, 0xDD);
        t14 = Avx512F.Shuffle4x128(r10, r14, 0xDD);
        t15 = Avx512F.Shuffle4x128(r11, r15, 0xDD);
        r0 = Avx512F.Shuffle4x128(t0, t8, 0x88);
        r1 = Avx512F.Shuffle4x128(t1, t9, 0x88);
        r2 = Avx512F.Shuffle4x128(t2, t10, 0x88);
        r3 = Avx512F.Shuffle4x128(t3, t11, 0x88);
        r4 = Avx512F.Shuffle4x128(t4, t12, 0x88);
        r5 = Avx512F.Shuffle4x128(t5, t13, 0x88);
        r6 = Avx512F.Shuffle4x128(t6, t14, 0x88);
        r7 = Avx512F.Shuffle4x128(t7, t15, 0x88);
        r8 = Avx512F.Shuffle4x128(t0, t8, 0xDD);
        r9 = Avx512F.Shuffle4x128(t1, t9, 0xDD);
        r10 = Avx512F.Shuffle4x128(t2, t10, 0xDD);
        r11 = Avx512F.Shuffle4x128(t3, t11, 0xDD);
        r12 = Avx512F.Shuffle4x128(t4, t12, 0xDD);
        r13 = Avx512F.Shuffle4x128(t5, t13, 0xDD);
        r14 = Avx512F.Shuffle4x128(t6, t14, 0xDD);
        r15 = Avx512F.Shuffle4x128(t7, t15, 0xDD);
        if (srcCols > 0)
        {
            Avx512F.MaskStore(dst + (0 * dstStride), lanes, r0);
        }

        if (srcCols > 1)
        {
            Avx512F.MaskStore(dst + (1 * dstStride), lanes, r1);
        }

        if (srcCols > 2)
        {
            Avx512F.MaskStore(dst + (2 * dstStride), lanes, r2);
        }

        if (srcCols > 3)
        {
            Avx512F.MaskStore(dst + (3 * dstStride), lanes, r3);
        }

        if (srcCols > 4)
        {
            Avx512F.MaskStore(dst + (4 * dstStride), lanes, r4);
        }

        if (srcCols > 5)
        {
            Avx512F.MaskStore(dst + (5 * dstStride), lanes, r5);
        }

        if (srcCols > 6)
        {
            Avx512F.MaskStore(dst + (6 * dstStride), lanes, r6);
        }

        if (srcCols > 7)
        {
            Avx512F.MaskStore(dst + (7 * dstStride), lanes, r7);
        }

        if (srcCols > 8)
        {
            Avx512F.MaskStore(dst + (8 * dstStride), lanes, r8);
        }

        if (srcCols > 9)
        {
            Avx512F.MaskStore(dst + (9 * dstStride), lanes, r9);
        }

        if (srcCols > 10)
        {
            Avx512F.MaskStore(dst + (10 * dstStride), lanes, r10);
        }

        if (srcCols > 11)
        {
            Avx512F.MaskStore(dst + (11 * dstStride), lanes, r11);
        }

        if (srcCols > 12)
        {
            Avx512F.MaskStore(dst + (12 * dstStride), lanes, r12);
        }

        if (srcCols > 13)
        {
            Avx512F.MaskStore(dst + (13 * dstStride), lanes, r13);
        }

        if (srcCols > 14)
        {
            Avx512F.MaskStore(dst + (14 * dstStride), lanes, r14);
        }

        if (srcCols > 15)
        {
            Avx512F.MaskStore(dst + (15 * dstStride), lanes, r15);
        }

        static Vector512<float> Low64(Vector512<float> x, Vector512<float> y) => Avx512F.UnpackLow(x.AsDouble(), y.AsDouble()).AsSingle();
        static Vector512<float> High64(Vector512<float> x, Vector512<float> y) => Avx512F.UnpackHigh(x.AsDouble(), y.AsDouble()).AsSingle();
    }
}
