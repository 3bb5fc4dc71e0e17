using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// Time steps of a layer with few gates (G·H ≤ 32: one panel of W) run with the batch across the 16 lanes of a
/// vector: the state is held transposed, unit-major (hᵀ, cᵀ: H × stride floats, sequence n in column n), so every gate
/// pre-activation, every cell and every unit of h is a full vector of 16 sequences, whatever H. (Row-major, a step of
/// H = 5 fills a third of a vector per row, and its gate math must gather pieces of rows into vectors.)
/// </summary>
/// <remarks>
/// <para>
/// A step is a small product, gatesᵀ = [W_ih | W_hh]·[xᵀ ; hᵀ] + bias (G·H × rows), then the gate math on vectors of
/// gatesᵀ. The product reads W from the joined packed weights (<see cref="PackedMatrix.PackSideBySide"/>), where W[j, kk]
/// lies at <c>kk·32 + j</c>: per kk it broadcasts four consecutive floats (rows j..j+3) and loads up to four vectors of
/// [xᵀ ; hᵀ] row kk (64 sequences), 16 FMAs.
/// </para>
/// <para>
/// Same bits as the row-major path (input product, recurrent product, <see cref="GateMath"/>) on the FMA paths: each
/// gate element is the chain bias, then x's terms in increasing kk, then h's, one fused multiply-add per term (the
/// product A[n, kk]·W[j, kk] is the same whichever operand is broadcast); the gate math is the same lane arithmetic
/// (<see cref="GateMath.Lstm2"/>, <see cref="VectorMath"/>) applied to other lanes. Lanes of sequences not running at a
/// step (past <c>rows</c>) are computed on whatever the buffers hold and never stored: their state is kept.
/// </para>
/// </remarks>
internal static class LaneSteps
{
    /// <summary>Sequences per vector.</summary>
    public const int Lanes = 16;

    /// <summary>Gate rows per pass of the product (consecutive rows of W, broadcast per kk).</summary>
    public const int RowsPerPass = 4;

    /// <summary>Floats between consecutive rows of a transposed buffer for <paramref name="batch"/> sequences: a whole
    /// number of vectors.</summary>
    public static int Stride(int batch) => (batch + Lanes - 1) / Lanes * Lanes;

    /// <summary>Rows of the transposed gate buffer for <paramref name="gateWidth"/> gates (whole passes of the product).</summary>
    public static int GateRows(int gateWidth) => (gateWidth + RowsPerPass - 1) / RowsPerPass * RowsPerPass;

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

        if (count > laneStride || laneStride % Lanes != 0 || ((count - 1) * (long)rowStride) + width > rows.Length || (long)width * laneStride > lanes.Length)
        {
            throw new ArgumentException($"{count} rows of {width} (stride {rowStride}) do not fit the spans or lane stride {laneStride}.", nameof(rows));
        }

        if (Avx512F.IsSupported)
        {
            ToLanes512(rows, rowStride, count, width, lanes, laneStride);
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

        if (count > laneStride || laneStride % Lanes != 0 || ((count - 1) * (long)rowStride) + width > rows.Length || (long)width * laneStride > lanes.Length)
        {
            throw new ArgumentException($"{count} rows of {width} (stride {rowStride}) do not fit the spans or lane stride {laneStride}.", nameof(rows));
        }

        if (Avx512F.IsSupported)
        {
            FromLanes512(lanes, laneStride, count, width, rows, rowStride);
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

    /// <summary><see cref="ToLanes"/> in 16 × 16 blocks transposed in registers (<see cref="TransposeBlock"/>).</summary>
    internal static unsafe void ToLanes512(ReadOnlySpan<float> rows, int rowStride, int count, int width, Span<float> lanes, int laneStride)
    {
        fixed (float* from = rows)
        fixed (float* to = lanes)
        {
            for (int n0 = 0; n0 < count; n0 += Lanes)
            {
                for (int k0 = 0; k0 < width; k0 += Lanes)
                {
                    TransposeBlock(from + ((long)n0 * rowStride) + k0, rowStride, Math.Min(Lanes, count - n0), Math.Min(Lanes, width - k0), to + ((long)k0 * laneStride) + n0, laneStride);
                }
            }
        }
    }

    /// <summary><see cref="FromLanes"/> in 16 × 16 blocks transposed in registers (<see cref="TransposeBlock"/>).</summary>
    internal static unsafe void FromLanes512(ReadOnlySpan<float> lanes, int laneStride, int count, int width, Span<float> rows, int rowStride)
    {
        fixed (float* from = lanes)
        fixed (float* to = rows)
        {
            for (int n0 = 0; n0 < count; n0 += Lanes)
            {
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

    /// <summary>
    /// gatesᵀ = [W_ih | W_hh]·[xᵀ ; hᵀ] + bias for sequences [0, rows): gate row j (j &lt; <see cref="GateRows"/>) in
    /// <paramref name="gates"/> at j·stride, from <paramref name="weights"/> (one panel: G·H ≤ 32; its zero padding rows
    /// give zero rows), <paramref name="inputs"/> (xᵀ, <paramref name="inputWidth"/> rows) and <paramref name="hidden"/>
    /// (hᵀ, <paramref name="hiddenWidth"/> rows), all rows <paramref name="stride"/> floats apart. <paramref name="bias"/>:
    /// G·H floats, or empty for none.
    /// </summary>
    public static void Product(
        PackedMatrix weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> inputs, int inputWidth, ReadOnlySpan<float> hidden, int hiddenWidth,
        int stride, int rows, Span<float> gates)
    {
        int gateWidth = weights.Rows;
        int gateRows = GateRows(gateWidth);
        if (weights.PanelCount != 1 || weights.Cols != inputWidth + hiddenWidth || (!bias.IsEmpty && bias.Length != gateWidth) || rows > stride || stride % Lanes != 0)
        {
            throw new ArgumentException($"Lane steps need one panel of {inputWidth} + {hiddenWidth} columns and at most {stride} sequences.", nameof(weights));
        }

        int chunks = (rows + Lanes - 1) / Lanes;
        if (chunks == 0)
        {
            return;
        }

        // Every vector read or written lies inside these spans.
        _ = inputs[(Math.Max(inputWidth, 1) * stride) - 1];
        _ = hidden[(Math.Max(hiddenWidth, 1) * stride) - 1];
        _ = gates[(gateRows * stride) - 1];
        ref float w = ref weights.DataReference;
        ref float x = ref MemoryMarshal.GetReference(inputs);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float g = ref MemoryMarshal.GetReference(gates);
        Span<float> start = stackalloc float[RowsPerPass];
        for (int j = 0; j < gateRows; j += RowsPerPass)
        {
            for (int r = 0; r < RowsPerPass; r++)
            {
                start[r] = bias.IsEmpty || j + r >= gateWidth ? 0f : bias[j + r];
            }

            for (int c = 0; c < chunks; c += 4)
            {
                ref float column = ref Unsafe.Add(ref g, (j * stride) + (c * Lanes));
                ref float wj = ref Unsafe.Add(ref w, j);
                ref float xc = ref Unsafe.Add(ref x, c * Lanes);
                ref float hc = ref Unsafe.Add(ref h, c * Lanes);
                switch (Math.Min(4, chunks - c))
                {
                    case 1:
                        Pass<C1>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start, ref column);
                        break;
                    case 2:
                        Pass<C2>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start, ref column);
                        break;
                    case 3:
                        Pass<C3>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start, ref column);
                        break;
                    default:
                        Pass<C4>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start, ref column);
                        break;
                }
            }
        }
    }

    /// <summary>Four gate rows (from W row <paramref name="w"/> on) × TC vectors of sequences: per kk of [xᵀ ; hᵀ] one
    /// broadcast per row, one load per vector, 4·TC FMAs; accumulator (r, v) starts at <paramref name="start"/>[r].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass<TC>(ref float w, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ReadOnlySpan<float> start, ref float gates)
        where TC : struct, IChunkCount
    {
        Vector512<float> a0 = Vector512.Create(start[0]), a1 = Vector512.Create(start[1]), a2 = Vector512.Create(start[2]), a3 = Vector512.Create(start[3]);
        Vector512<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3;
        Vector512<float> c0 = a0, c1 = a1, c2 = a2, c3 = a3;
        Vector512<float> d0 = a0, d1 = a1, d2 = a2, d3 = a3;

        // x's terms, then h's: the same chain as the input product followed by the recurrent one.
        for (int part = 0; part < 2; part++)
        {
            ref float z = ref part == 0 ? ref x : ref h;
            int width = part == 0 ? inputWidth : hiddenWidth;
            for (int kk = 0; kk < width; kk++)
            {
                Vector512<float> w0 = Vector512.Create(w), w1 = Vector512.Create(Unsafe.Add(ref w, 1));
                Vector512<float> w2 = Vector512.Create(Unsafe.Add(ref w, 2)), w3 = Vector512.Create(Unsafe.Add(ref w, 3));
                Vector512<float> v = Vector512.LoadUnsafe(ref z);
                a0 = Vector512.FusedMultiplyAdd(v, w0, a0);
                a1 = Vector512.FusedMultiplyAdd(v, w1, a1);
                a2 = Vector512.FusedMultiplyAdd(v, w2, a2);
                a3 = Vector512.FusedMultiplyAdd(v, w3, a3);
                if (TC.Value > 1)
                {
                    v = Vector512.LoadUnsafe(ref z, Lanes);
                    b0 = Vector512.FusedMultiplyAdd(v, w0, b0);
                    b1 = Vector512.FusedMultiplyAdd(v, w1, b1);
                    b2 = Vector512.FusedMultiplyAdd(v, w2, b2);
                    b3 = Vector512.FusedMultiplyAdd(v, w3, b3);
                }

                if (TC.Value > 2)
                {
                    v = Vector512.LoadUnsafe(ref z, 2 * Lanes);
                    c0 = Vector512.FusedMultiplyAdd(v, w0, c0);
                    c1 = Vector512.FusedMultiplyAdd(v, w1, c1);
                    c2 = Vector512.FusedMultiplyAdd(v, w2, c2);
                    c3 = Vector512.FusedMultiplyAdd(v, w3, c3);
                }

                if (TC.Value > 3)
                {
                    v = Vector512.LoadUnsafe(ref z, 3 * Lanes);
                    d0 = Vector512.FusedMultiplyAdd(v, w0, d0);
                    d1 = Vector512.FusedMultiplyAdd(v, w1, d1);
                    d2 = Vector512.FusedMultiplyAdd(v, w2, d2);
                    d3 = Vector512.FusedMultiplyAdd(v, w3, d3);
                }

                z = ref Unsafe.Add(ref z, stride);
                w = ref Unsafe.Add(ref w, PackedMatrix.PanelWidth);
            }
        }

        Store<TC>(a0, b0, c0, d0, ref gates);
        Store<TC>(a1, b1, c1, d1, ref Unsafe.Add(ref gates, stride));
        Store<TC>(a2, b2, c2, d2, ref Unsafe.Add(ref gates, 2 * stride));
        Store<TC>(a3, b3, c3, d3, ref Unsafe.Add(ref gates, 3 * stride));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TC>(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, ref float row)
        where TC : struct, IChunkCount
    {
        a.StoreUnsafe(ref row);
        if (TC.Value > 1)
        {
            b.StoreUnsafe(ref row, Lanes);
        }

        if (TC.Value > 2)
        {
            c.StoreUnsafe(ref row, 2 * Lanes);
        }

        if (TC.Value > 3)
        {
            d.StoreUnsafe(ref row, 3 * Lanes);
        }
    }

    /// <summary>
    /// LSTM gate math on gatesᵀ (rows i, f, g, o chunks of <paramref name="hiddenSize"/>, <paramref name="stride"/> apart):
    /// for sequences [0, rows), cᵀ updated in place and h'ᵀ written to <paramref name="hiddenNext"/>; columns
    /// rows..stride of both take their values from cᵀ and <paramref name="hidden"/> (the state carried over).
    /// </summary>
    public static void Lstm(ReadOnlySpan<float> gates, ReadOnlySpan<float> hidden, Span<float> cell, Span<float> hiddenNext, int hiddenSize, int stride, int rows)
    {
        int chunks = (rows + Lanes - 1) / Lanes;
        _ = gates[(4 * hiddenSize * stride) - 1];
        _ = hidden[(hiddenSize * stride) - 1];
        _ = cell[(hiddenSize * stride) - 1];
        _ = hiddenNext[(hiddenSize * stride) - 1];
        ref float g = ref MemoryMarshal.GetReference(gates);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float c = ref MemoryMarshal.GetReference(cell);
        ref float hn = ref MemoryMarshal.GetReference(hiddenNext);
        nint chunk = hiddenSize * stride;
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            int v = 0;
            for (; v + 2 <= chunks; v += 2)
            {
                nint o = at + (v * Lanes), o2 = o + Lanes;
                GateMath.Lstm2<Lanes512, Vector512<float>>(
                    Vector512.LoadUnsafe(ref g, (nuint)o), Vector512.LoadUnsafe(ref g, (nuint)(chunk + o)),
                    Vector512.LoadUnsafe(ref g, (nuint)((2 * chunk) + o)), Vector512.LoadUnsafe(ref g, (nuint)((3 * chunk) + o)), Vector512.LoadUnsafe(ref c, (nuint)o),
                    Vector512.LoadUnsafe(ref g, (nuint)o2), Vector512.LoadUnsafe(ref g, (nuint)(chunk + o2)),
                    Vector512.LoadUnsafe(ref g, (nuint)((2 * chunk) + o2)), Vector512.LoadUnsafe(ref g, (nuint)((3 * chunk) + o2)), Vector512.LoadUnsafe(ref c, (nuint)o2),
                    out Vector512<float> c1, out Vector512<float> h1, out Vector512<float> c2, out Vector512<float> h2);
                StoreRunning(c1, ref c, o, rows - (v * Lanes));
                StoreRunning(c2, ref c, o2, rows - ((v + 1) * Lanes));
                StoreRunning(h1, ref h, ref hn, o, rows - (v * Lanes));
                StoreRunning(h2, ref h, ref hn, o2, rows - ((v + 1) * Lanes));
            }

            if (v < chunks)
            {
                nint o = at + (v * Lanes);
                var (c1, h1) = GateMath.LstmOutOfLine<Lanes512, Vector512<float>>(
                    Vector512.LoadUnsafe(ref g, (nuint)o), Vector512.LoadUnsafe(ref g, (nuint)(chunk + o)),
                    Vector512.LoadUnsafe(ref g, (nuint)((2 * chunk) + o)), Vector512.LoadUnsafe(ref g, (nuint)((3 * chunk) + o)), Vector512.LoadUnsafe(ref c, (nuint)o));
                StoreRunning(c1, ref c, o, rows - (v * Lanes));
                StoreRunning(h1, ref h, ref hn, o, rows - (v * Lanes));
            }

            // Vectors past the running ones: h carried over (c stays in place).
            for (v = chunks; v < stride / Lanes; v++)
            {
                nint o = at + (v * Lanes);
                Vector512.LoadUnsafe(ref h, (nuint)o).StoreUnsafe(ref hn, (nuint)o);
            }
        }
    }

    /// <summary>
    /// RNN: h'ᵀ = tanh or relu of gatesᵀ (H rows, <paramref name="stride"/> apart) for sequences [0, rows); columns
    /// rows..stride of <paramref name="hiddenNext"/> are carried over from <paramref name="hidden"/>.
    /// </summary>
    public static void Rnn(ReadOnlySpan<float> gates, ReadOnlySpan<float> hidden, Span<float> hiddenNext, int hiddenSize, int stride, int rows, Nonlinearity nonlinearity)
    {
        int chunks = (rows + Lanes - 1) / Lanes;
        _ = gates[(hiddenSize * stride) - 1];
        _ = hidden[(hiddenSize * stride) - 1];
        _ = hiddenNext[(hiddenSize * stride) - 1];
        ref float g = ref MemoryMarshal.GetReference(gates);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float hn = ref MemoryMarshal.GetReference(hiddenNext);
        bool tanh = nonlinearity == Nonlinearity.Tanh;
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            int v = 0;
            if (tanh)
            {
                for (; v + 2 <= chunks; v += 2)
                {
                    nint o = at + (v * Lanes), o2 = o + Lanes;
                    VectorMath.Tanh2<Lanes512, Vector512<float>>(Vector512.LoadUnsafe(ref g, (nuint)o), Vector512.LoadUnsafe(ref g, (nuint)o2), out var y1, out var y2);
                    StoreRunning(y1, ref h, ref hn, o, rows - (v * Lanes));
                    StoreRunning(y2, ref h, ref hn, o2, rows - ((v + 1) * Lanes));
                }
            }

            for (; v < chunks; v++)
            {
                nint o = at + (v * Lanes);
                Vector512<float> pre = Vector512.LoadUnsafe(ref g, (nuint)o);
                Vector512<float> y = tanh ? VectorMath.Tanh<Lanes512, Vector512<float>>(pre) : VectorMath.Relu<Lanes512, Vector512<float>>(pre);
                StoreRunning(y, ref h, ref hn, o, rows - (v * Lanes));
            }

            for (v = chunks; v < stride / Lanes; v++)
            {
                nint o = at + (v * Lanes);
                Vector512.LoadUnsafe(ref h, (nuint)o).StoreUnsafe(ref hn, (nuint)o);
            }
        }
    }

    /// <summary>Stores the first <paramref name="running"/> lanes of <paramref name="value"/> at offset
    /// <paramref name="at"/> of <paramref name="state"/>, keeping the others (all 16 when running ≥ 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRunning(Vector512<float> value, ref float state, nint at, int running)
    {
        if (running < Lanes)
        {
            Vector512<float> keep = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(running)).AsSingle();
            value = Vector512.ConditionalSelect(keep, value, Vector512.LoadUnsafe(ref state, (nuint)at));
        }

        value.StoreUnsafe(ref state, (nuint)at);
    }

    /// <summary>As above, the kept lanes coming from <paramref name="previous"/> and the result going to <paramref name="next"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRunning(Vector512<float> value, ref float previous, ref float next, nint at, int running)
    {
        if (running < Lanes)
        {
            Vector512<float> keep = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(running)).AsSingle();
            value = Vector512.ConditionalSelect(keep, value, Vector512.LoadUnsafe(ref previous, (nuint)at));
        }

        value.StoreUnsafe(ref next, (nuint)at);
    }

    private interface IChunkCount
    {
        static abstract int Value { get; }
    }

#pragma warning disable CA1812 // used only as type arguments
    private readonly struct C1 : IChunkCount { public static int Value => 1; }
    private readonly struct C2 : IChunkCount { public static int Value => 2; }
    private readonly struct C3 : IChunkCount { public static int Value => 3; }
    private readonly struct C4 : IChunkCount { public static int Value => 4; }
#pragma warning restore CA1812
}
