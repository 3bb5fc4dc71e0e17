using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

/// <summary>
/// Time steps of a layer with few gates (G·H ≤ <see cref="MaxGateWidth"/>: up to four panels of W) run with the batch
/// across the 16 lanes of a vector: the state is held transposed, unit-major (hᵀ, cᵀ: H × stride floats, sequence n in column n), so every gate
/// pre-activation, every cell and every unit of h is a full vector of 16 sequences, whatever H. (Row-major, a step of
/// H = 5 fills a third of a vector per row, and its gate math must gather pieces of rows into vectors.)
/// </summary>
/// <remarks>
/// <para>
/// A step is a small product, gatesᵀ = [W_ih | W_hh]·[xᵀ ; hᵀ] + bias (G·H × rows), then the gate math on vectors of
/// gatesᵀ. The product reads W from the joined packed weights (<see cref="PackedMatrix.PackSideBySide"/>), where W[j, kk]
/// lies at <c>(j / 32)·PanelStride + kk·32 + j % 32</c>: per kk it broadcasts four consecutive floats (rows j..j+3, in
/// one panel) and loads up to four vectors of [xᵀ ; hᵀ] row kk (64 sequences), 16 FMAs.
/// </para>
/// <para>
/// Same bits as the row-major path (input product, recurrent product, <see cref="GateMath"/>) on the FMA paths: each
/// gate element is the chain bias, then x's terms in increasing kk, then h's, one fused multiply-add per term (the
/// product A[n, kk]·W[j, kk] is the same whichever operand is broadcast); the gate math is the same lane arithmetic
/// (<see cref="GateMath.LstmCell2"/>, <see cref="VectorMath"/>) applied to other lanes. Where the hardware does not fuse,
/// the row-major products multiply, then add, and so does the lane product on Vector128, the width the lane steps run
/// on there (LaneSteps.Vector128.cs): the same bits again. Lanes of sequences not running at a step (past <c>rows</c>)
/// are computed on whatever the buffers hold and never stored: their state is kept. The Vector256 kernels stop at the last
/// half chunk (8 sequences) that holds a running one, the Vector128 kernels at the last quarter (4 sequences), but for a
/// last four-row pass of the product and the gate math of an odd last unit, which take that part and the next.
/// </para>
/// </remarks>
internal static partial class LaneSteps
{
    /// <summary>The width the kernels run on: Vector512 where the hardware accelerates it, else Vector256 halves of each
    /// chunk (LaneSteps.Vector256.cs) where that is accelerated, else Vector128 quarters (LaneSteps.Vector128.cs). All
    /// give the same bits (the Vector128 product where the hardware fuses; see there); the entry points take an explicit
    /// choice for the tests.</summary>
    internal static LaneWidth Width { get; } =
        Vector512.IsHardwareAccelerated ? LaneWidth.Vector512
        : Vector256.IsHardwareAccelerated ? LaneWidth.Vector256
        : LaneWidth.Vector128;

    /// <summary>Sequences per vector.</summary>
    public const int Lanes = 16;

    /// <summary>Most gates (G·H) the lane product takes: four panels of W.</summary>
    public const int MaxGateWidth = 4 * PackedMatrix.PanelWidth;

    /// <summary>Gate rows per pass of the product (consecutive rows of W, broadcast per kk).</summary>
    public const int RowsPerPass = 4;

    /// <summary>Floats between consecutive rows of a transposed buffer for <paramref name="batch"/> sequences: a whole
    /// number of vectors.</summary>
    public static int Stride(int batch) => (batch + Lanes - 1) / Lanes * Lanes;

    /// <summary>Rows of the transposed gate buffer for <paramref name="gateWidth"/> gates (whole passes of the product).</summary>
    public static int GateRows(int gateWidth) => (gateWidth + RowsPerPass - 1) / RowsPerPass * RowsPerPass;

    /// <summary>
    /// gatesᵀ = [W_ih | W_hh]·[xᵀ ; hᵀ] + bias for sequences [0, rows): gate row j (j &lt; G·H) in
    /// <paramref name="gates"/> at j·stride, from <paramref name="weights"/> (G·H ≤ <see cref="MaxGateWidth"/>; the buffer holds
    /// <see cref="GateRows"/> rows, whose padding rows past G·H are scratch: zero rows, or left unwritten), <paramref name="inputs"/> (xᵀ, <paramref name="inputWidth"/> rows) and <paramref name="hidden"/>
    /// (hᵀ, <paramref name="hiddenWidth"/> rows), all rows <paramref name="stride"/> floats apart. <paramref name="bias"/>:
    /// G·H floats, or empty for none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public static void Product(
        PackedMatrix weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> inputs, int inputWidth, ReadOnlySpan<float> hidden, int hiddenWidth,
        int stride, int rows, Span<float> gates, LaneWidth? width = null)
    {
        int gateWidth = weights.Rows;
        int gateRows = GateRows(gateWidth);
        if (gateWidth > MaxGateWidth || weights.Cols != inputWidth + hiddenWidth || (!bias.IsEmpty && bias.Length != gateWidth) || rows > stride || stride % Lanes != 0)
        {
            throw new ArgumentException($"Lane steps need at most {MaxGateWidth} gates of {inputWidth} + {hiddenWidth} columns and at most {stride} sequences.", nameof(weights));
        }

        int chunks = (rows + Lanes - 1) / Lanes;
        if (chunks == 0)
        {
            return;
        }

        // Every vector read or written lies inside these spans (which may be views from a part's first column: row r's
        // vectors run to r·stride + chunks·16).
        int used = chunks * Lanes;
        _ = inputs[((Math.Max(inputWidth, 1) - 1) * stride) + used - 1];
        _ = hidden[((Math.Max(hiddenWidth, 1) - 1) * stride) + used - 1];
        _ = gates[((gateRows - 1) * stride) + used - 1];
        ref float w = ref weights.DataReference;
        ref float x = ref MemoryMarshal.GetReference(inputs);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float g = ref MemoryMarshal.GetReference(gates);

        // Each gate row's starting value: its bias (0 without one), 0 past the gates (the padding rows of the last pass):
        // the rows the passes read are written here (the method skips stackalloc's zeroing of all MaxGateWidth).
        Span<float> starts = stackalloc float[MaxGateWidth];
        bias.CopyTo(starts);
        starts[bias.Length..gateRows].Clear();
        ref float st = ref MemoryMarshal.GetReference(starts);
        switch (width ?? Width)
        {
            case LaneWidth.Vector128:
                Product128(ref w, weights.PanelStride, ref x, inputWidth, ref h, hiddenWidth, stride, ref st, gateRows, ref g, rows);
                return;
            case LaneWidth.Vector256:
                Product256(ref w, weights.PanelStride, ref x, inputWidth, ref h, hiddenWidth, stride, ref st, gateWidth, ref g, rows);
                return;
        }

        for (int c = 0; c < chunks; c += 4)
        {
            ref float column = ref Unsafe.Add(ref g, c * Lanes);
            ref float xc = ref Unsafe.Add(ref x, c * Lanes);
            ref float hc = ref Unsafe.Add(ref h, c * Lanes);
            switch (Math.Min(4, chunks - c))
            {
                case 1:
                    Passes<C1>(ref w, weights.PanelStride, ref xc, inputWidth, ref hc, hiddenWidth, stride, ref st, gateRows, ref column);
                    break;
                case 2:
                    Passes<C2>(ref w, weights.PanelStride, ref xc, inputWidth, ref hc, hiddenWidth, stride, ref st, gateRows, ref column);
                    break;
                case 3:
                    Passes<C3>(ref w, weights.PanelStride, ref xc, inputWidth, ref hc, hiddenWidth, stride, ref st, gateRows, ref column);
                    break;
                default:
                    Passes<C4>(ref w, weights.PanelStride, ref xc, inputWidth, ref hc, hiddenWidth, stride, ref st, gateRows, ref column);
                    break;
            }
        }
    }

    /// <summary>
    /// All <paramref name="gateRows"/> gate rows × TC vectors of sequences, four rows per pass: per kk of [xᵀ ; hᵀ] one
    /// broadcast per row, one load per vector, 4·TC FMAs; accumulator (r, v) starts at <paramref name="starts"/>[j + r].
    /// The passes loop here rather than one call each: a call per pass cost ~90 cycles beyond its FMAs (measured on
    /// the Ice Lake CI machine, 2026-11-29: T1's product, 5 passes of 15 kk, 1.12–1.17× as fast this way; one pass of
    /// 41 kk the same).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Passes<TC>(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateRows, ref float gates)
        where TC : struct, IChunkCount
    {
        for (int j = 0; j < gateRows; j += RowsPerPass)
        {
            ref float wj = ref Unsafe.Add(ref w, ((j / PackedMatrix.PanelWidth) * panelStride) + (j % PackedMatrix.PanelWidth));
            Vector512<float> a0 = Vector512.Create(Unsafe.Add(ref starts, j)), a1 = Vector512.Create(Unsafe.Add(ref starts, j + 1));
            Vector512<float> a2 = Vector512.Create(Unsafe.Add(ref starts, j + 2)), a3 = Vector512.Create(Unsafe.Add(ref starts, j + 3));
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
                    Vector512<float> w0 = Vector512.Create(wj), w1 = Vector512.Create(Unsafe.Add(ref wj, 1));
                    Vector512<float> w2 = Vector512.Create(Unsafe.Add(ref wj, 2)), w3 = Vector512.Create(Unsafe.Add(ref wj, 3));
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
                    wj = ref Unsafe.Add(ref wj, PackedMatrix.PanelWidth);
                }
            }

            ref float row = ref Unsafe.Add(ref gates, j * stride);
            Store<TC>(a0, b0, c0, d0, ref row);
            Store<TC>(a1, b1, c1, d1, ref Unsafe.Add(ref row, stride));
            Store<TC>(a2, b2, c2, d2, ref Unsafe.Add(ref row, 2 * stride));
            Store<TC>(a3, b3, c3, d3, ref Unsafe.Add(ref row, 3 * stride));
        }
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
    /// rows..<paramref name="columns"/> (a multiple of 16) of both take their values from cᵀ and <paramref name="hidden"/>
    /// (the state carried over); later columns are not touched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Lstm(ReadOnlySpan<float> gates, ReadOnlySpan<float> hidden, Span<float> cell, Span<float> hiddenNext, int hiddenSize, int stride, int rows, int columns, LaneWidth? width = null)
    {
        int chunks = (rows + Lanes - 1) / Lanes;
        CheckColumns(rows, columns, stride);
        _ = gates[(((4 * hiddenSize) - 1) * stride) + columns - 1];
        _ = hidden[((hiddenSize - 1) * stride) + columns - 1];
        _ = cell[((hiddenSize - 1) * stride) + columns - 1];
        _ = hiddenNext[((hiddenSize - 1) * stride) + columns - 1];
        ref float g = ref MemoryMarshal.GetReference(gates);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float c = ref MemoryMarshal.GetReference(cell);
        ref float hn = ref MemoryMarshal.GetReference(hiddenNext);
        nint chunk = hiddenSize * stride;
        // The Vector512 body is a method of its own: inlined here, its vectors (emulated where Vector512 is not
        // accelerated) made this frame ~11 KB, probed and partly zeroed on every call of the Vector256 path.
        switch (width ?? Width)
        {
            case LaneWidth.Vector512:
                Lstm512(ref g, ref h, ref c, ref hn, chunk, stride, hiddenSize, rows, chunks, columns);
                break;
            case LaneWidth.Vector256:
                Lstm256(ref g, ref h, ref c, ref hn, chunk, stride, hiddenSize, rows, columns);
                break;
            default:
                Lstm128(ref g, ref h, ref c, ref hn, chunk, stride, hiddenSize, rows, columns);
                break;
        }
    }

    /// <summary><see cref="Lstm"/> on whole Vector512 chunks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Lstm512(ref float g, ref float h, ref float c, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int chunks, int columns)
    {
        int pairs = chunks / 2 * 2;

        // c' of every unit's pairs of vectors first, then their h' (see GateMath.LstmCell2); a last single vector of a
        // unit takes both at once. Lanes past rows keep c (StoreRunning), so the h' computed from them is not stored.
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int v = 0; v < pairs; v += 2)
            {
                nint o = at + (v * Lanes), o2 = o + Lanes;
                GateMath.LstmCell2<Lanes512, Vector512<float>>(ref g, chunk, o, o2, ref c, o, o2, out Vector512<float> c1, out Vector512<float> c2);
                StoreRunning(c1, ref c, o, rows - (v * Lanes));
                StoreRunning(c2, ref c, o2, rows - ((v + 1) * Lanes));
            }

            if (pairs < chunks)
            {
                nint o = at + (pairs * Lanes);
                var (c1, h1) = GateMath.LstmOutOfLine<Lanes512, Vector512<float>>(
                    Vector512.LoadUnsafe(ref g, (nuint)o), Vector512.LoadUnsafe(ref g, (nuint)(chunk + o)),
                    Vector512.LoadUnsafe(ref g, (nuint)((2 * chunk) + o)), Vector512.LoadUnsafe(ref g, (nuint)((3 * chunk) + o)), Vector512.LoadUnsafe(ref c, (nuint)o));
                StoreRunning(c1, ref c, o, rows - (pairs * Lanes));
                StoreRunning(h1, ref h, ref hn, o, rows - (pairs * Lanes));
            }
        }

        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int v = 0; v < pairs; v += 2)
            {
                nint o = at + (v * Lanes), o2 = o + Lanes;
                GateMath.LstmHidden2<Lanes512, Vector512<float>>(ref g, (3 * chunk) + o, (3 * chunk) + o2, ref c, o, o2, out Vector512<float> h1, out Vector512<float> h2);
                StoreRunning(h1, ref h, ref hn, o, rows - (v * Lanes));
                StoreRunning(h2, ref h, ref hn, o2, rows - ((v + 1) * Lanes));
            }

            CarryOver(ref h, ref hn, at, chunks, columns); // c stays in place
        }
    }

    /// <summary>
    /// GRU gate math on the input part X (r, z, n chunks of <paramref name="hiddenSize"/> rows: b_i + b_h for r and z,
    /// b_in for n, plus W_ih·xᵀ) and the hidden part R (W_hh·hᵀ, plus b_hn in the n chunk), each as in
    /// GateMath.GruStep (<see cref="GateMath.Gru2"/>): for sequences [0, rows), h'ᵀ to <paramref name="hiddenNext"/>; columns
    /// rows..<paramref name="columns"/> (a multiple of 16) of it carried over from <paramref name="hidden"/>; later
    /// columns are not touched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gru(ReadOnlySpan<float> inputGates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> hidden, Span<float> hiddenNext, int hiddenSize, int stride, int rows, int columns, LaneWidth? width = null)
    {
        int chunks = (rows + Lanes - 1) / Lanes;
        CheckColumns(rows, columns, stride);
        _ = inputGates[(((3 * hiddenSize) - 1) * stride) + columns - 1];
        _ = hiddenGates[(((3 * hiddenSize) - 1) * stride) + columns - 1];
        _ = hidden[((hiddenSize - 1) * stride) + columns - 1];
        _ = hiddenNext[((hiddenSize - 1) * stride) + columns - 1];
        ref float x = ref MemoryMarshal.GetReference(inputGates);
        ref float r = ref MemoryMarshal.GetReference(hiddenGates);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float hn = ref MemoryMarshal.GetReference(hiddenNext);
        nint chunk = hiddenSize * stride;
        // The Vector512 body apart, as in Lstm.
        switch (width ?? Width)
        {
            case LaneWidth.Vector512:
                Gru512(ref x, ref r, ref h, ref hn, chunk, stride, hiddenSize, rows, chunks, columns);
                break;
            case LaneWidth.Vector256:
                Gru256(ref x, ref r, ref h, ref hn, chunk, stride, hiddenSize, rows, columns);
                break;
            default:
                Gru128(ref x, ref r, ref h, ref hn, chunk, stride, hiddenSize, rows, columns);
                break;
        }
    }

    /// <summary><see cref="Gru"/> on whole Vector512 chunks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Gru512(ref float x, ref float r, ref float h, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int chunks, int columns)
    {
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            int v = 0;
            for (; v + 2 <= chunks; v += 2)
            {
                nint o = at + (v * Lanes), o2 = o + Lanes;
                GateMath.Gru2<Lanes512, Vector512<float>>(ref x, ref r, chunk, o, o2, ref h, o, o2, out Vector512<float> next1, out Vector512<float> next2);
                StoreRunning(next1, ref h, ref hn, o, rows - (v * Lanes));
                StoreRunning(next2, ref h, ref hn, o2, rows - ((v + 1) * Lanes));
            }

            if (v < chunks)
            {
                nint o = at + (v * Lanes);
                Vector512<float> next = GateMath.GruOutOfLine<Lanes512, Vector512<float>>(
                    Vector512.LoadUnsafe(ref x, (nuint)o), Vector512.LoadUnsafe(ref x, (nuint)(chunk + o)), Vector512.LoadUnsafe(ref x, (nuint)((2 * chunk) + o)),
                    Vector512.LoadUnsafe(ref r, (nuint)o), Vector512.LoadUnsafe(ref r, (nuint)(chunk + o)), Vector512.LoadUnsafe(ref r, (nuint)((2 * chunk) + o)),
                    Vector512.LoadUnsafe(ref h, (nuint)o));
                StoreRunning(next, ref h, ref hn, o, rows - (v * Lanes));
            }

            CarryOver(ref h, ref hn, at, chunks, columns);
        }
    }

    /// <summary>
    /// RNN: h'ᵀ = tanh or relu of gatesᵀ (H rows, <paramref name="stride"/> apart) for sequences [0, rows); columns
    /// rows..<paramref name="columns"/> (a multiple of 16) of <paramref name="hiddenNext"/> are carried over from
    /// <paramref name="hidden"/>; later columns are not touched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rnn(ReadOnlySpan<float> gates, ReadOnlySpan<float> hidden, Span<float> hiddenNext, int hiddenSize, int stride, int rows, int columns, Nonlinearity nonlinearity, LaneWidth? width = null)
    {
        int chunks = (rows + Lanes - 1) / Lanes;
        CheckColumns(rows, columns, stride);
        _ = gates[((hiddenSize - 1) * stride) + columns - 1];
        _ = hidden[((hiddenSize - 1) * stride) + columns - 1];
        _ = hiddenNext[((hiddenSize - 1) * stride) + columns - 1];
        ref float g = ref MemoryMarshal.GetReference(gates);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float hn = ref MemoryMarshal.GetReference(hiddenNext);
        bool tanh = nonlinearity == Nonlinearity.Tanh;
        // The Vector512 body apart, as in Lstm.
        switch (width ?? Width)
        {
            case LaneWidth.Vector512:
                Rnn512(ref g, ref h, ref hn, stride, hiddenSize, rows, chunks, columns, tanh);
                break;
            case LaneWidth.Vector256:
                Rnn256(ref g, ref h, ref hn, stride, hiddenSize, rows, columns, tanh);
                break;
            default:
                Rnn128(ref g, ref h, ref hn, stride, hiddenSize, rows, columns, tanh);
                break;
        }
    }

    /// <summary><see cref="Rnn"/> on whole Vector512 chunks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Rnn512(ref float g, ref float h, ref float hn, nint stride, int hiddenSize, int rows, int chunks, int columns, bool tanh)
    {
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            int v = 0;
            if (tanh)
            {
                // Four chunks, then pairs: four or two tanh chains in flight.
                for (; v + 4 <= chunks; v += 4)
                {
                    nint o = at + (v * Lanes);
                    VectorMath.Tanh4<Lanes512, Vector512<float>>(ref g, o, out var t1, out var t2, out var t3, out var t4);
                    StoreRunning(t1, ref h, ref hn, o, rows - (v * Lanes));
                    StoreRunning(t2, ref h, ref hn, o + Lanes, rows - ((v + 1) * Lanes));
                    StoreRunning(t3, ref h, ref hn, o + (2 * Lanes), rows - ((v + 2) * Lanes));
                    StoreRunning(t4, ref h, ref hn, o + (3 * Lanes), rows - ((v + 3) * Lanes));
                }

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

            CarryOver(ref h, ref hn, at, chunks, columns);
        }
    }

    /// <summary>One unit's vectors past the running ones, [chunks, columns / 16), copied from h to h' as they are.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CarryOver(ref float h, ref float hn, nint at, int chunks, int columns)
    {
        for (int v = chunks; v < columns / Lanes; v++)
        {
            nint o = at + (v * Lanes);
            Vector512.LoadUnsafe(ref h, (nuint)o).StoreUnsafe(ref hn, (nuint)o);
        }
    }

    private static void CheckColumns(int rows, int columns, int stride)
    {
        if (columns % Lanes != 0 || columns > stride || rows > columns || rows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(columns), $"{rows} running sequences in {columns} columns of stride {stride}: columns must be a multiple of {Lanes}, at most the stride, and hold the running ones.");
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

/// <summary>The vector width of the lane kernels (<see cref="LaneSteps.Width"/>).</summary>
internal enum LaneWidth
{
    Vector128,
    Vector256,
    Vector512,
}
