using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

/// <summary>
/// The elementwise part of one time step for a batch of rows, after the matrix products have produced the gate
/// pre-activations: one fused pass per row that reads the gates once and writes c' and h'. Gate chunks are in
/// PyTorch's order within each row: LSTM i, f, g, o; GRU r, z, n.
/// </summary>
/// <remarks>
/// Lanes: each row is walked in vector-wide pieces of the H units (16 lanes where Vector512 is accelerated, else
/// <see cref="Vector{T}"/>'s); the last piece (H not a multiple of the width) is loaded as whole vectors where they fit
/// in the spans (its extra lanes then hold the floats that follow: other gates, other rows) or else copied into padded
/// vectors, computed the same way, and only its valid lanes are stored. Whatever the extra lanes hold, they never reach
/// a valid lane. H below the width takes the batch's cells across rows instead (one vector per width of cells).
/// So every unit of every row gets the same arithmetic (<see cref="VectorMath"/>), whatever H, the batch, or how rows
/// are grouped between calls (threads, packed batches, streaming chunks): results never depend on grouping.
/// </remarks>
internal static class GateMath
{
    /// <summary>Whether the entry points run on 16 lanes (<see cref="Lanes512"/>): where the hardware accelerates
    /// Vector512, whose lanes the runtime does not give <see cref="Vector{T}"/>. Otherwise <see cref="NaturalLanes"/>.
    /// Both widths give the same bits.</summary>
    private static readonly bool Wide = Vector512.IsHardwareAccelerated;

    /// <summary>
    /// LSTM: for each of <paramref name="batch"/> rows of <paramref name="gates"/> (4H pre-activations, read only):
    /// i, f, o = σ, g = tanh; c' = f·c + i·g (in <paramref name="cell"/>, N×H, in place);
    /// h' = o·tanh(c') written to <paramref name="hidden"/> row n at n·<paramref name="hiddenStride"/>.
    /// </summary>
    public static void LstmStep(ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int batch, int hiddenSize) =>
        LstmStep(gates, cell, hidden, hiddenStride, batch, hiddenSize, 0, hiddenSize);

    /// <summary>As above for units [<paramref name="firstUnit"/>, +<paramref name="units"/>) of each row only (c and h
    /// are indexed by unit as in the whole-row form); other units are not touched.</summary>
    public static void LstmStep(
        ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int batch, int hiddenSize, int firstUnit, int units)
    {
        if (Wide)
        {
            LstmStep<Lanes512, Vector512<float>>(gates, cell, hidden, hiddenStride, batch, hiddenSize, firstUnit, units);
        }
        else
        {
            LstmStep<NaturalLanes, Vector<float>>(gates, cell, hidden, hiddenStride, batch, hiddenSize, firstUnit, units);
        }
    }

    /// <summary>LSTM on the lanes of <typeparamref name="TL"/> (tests call each width directly).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LstmStep<TL, TV>(
        ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int batch, int hiddenSize, int firstUnit, int units)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        int h = hiddenSize, w = TL.Count, end = firstUnit + units;
        if (h < w && batch > 1 && firstUnit == 0 && units == h)
        {
            LstmAcrossRows<TL, TV>(gates, cell, hidden, hiddenStride, batch, h);
            return;
        }

        Span<float> tail = stackalloc float[5 * TL.Count]; // zeroed by stackalloc (SkipLocalsInit is off)
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = gates.Slice(n * 4 * h, 4 * h);
            Span<float> c = cell.Slice(n * h, h);
            Span<float> destination = hidden.Slice(n * hiddenStride, h);
            // c' of every pair of vectors first, then their h' (see LstmCell2).
            int j = firstUnit + ((end - firstUnit) / (2 * w) * 2 * w);
            if (j > firstUnit)
            {
                LstmCellPairs<TL, TV>(row, c, h, firstUnit, j);
            }

            if (j > firstUnit)
            {
                LstmHiddenPairs<TL, TV>(row, c, destination, h, firstUnit, j);
            }

            // At most one whole vector is left after the pairs; its math out of line keeps the pairs' inlined.
            for (; j <= end - w; j += w)
            {
                var (cNext, hNext) = LstmOutOfLine<TL, TV>(
                    TL.Load(row[j..]), TL.Load(row[(h + j)..]), TL.Load(row[((2 * h) + j)..]),
                    TL.Load(row[((3 * h) + j)..]), TL.Load(c[j..]));
                TL.Store(cNext, c[j..]);
                TL.Store(hNext, destination[j..]);
            }

            if (j < end)
            {
                int r = end - j, rowStart = n * 4 * h, cellStart = n * h;
                TV cNext, hNext;
                if (rowStart + (3 * h) + j + w <= gates.Length && cellStart + j + w <= cell.Length)
                {
                    // Whole vectors fit in the spans: load them as they are; lanes past r hold the next floats (other
                    // gates or rows), are computed like any lane and never stored.
                    (cNext, hNext) = LstmOutOfLine<TL, TV>(
                        TL.Load(gates[(rowStart + j)..]), TL.Load(gates[(rowStart + h + j)..]),
                        TL.Load(gates[(rowStart + (2 * h) + j)..]), TL.Load(gates[(rowStart + (3 * h) + j)..]),
                        TL.Load(cell[(cellStart + j)..]));
                }
                else
                {
                    for (int g = 0; g < 4; g++)
                    {
                        row.Slice((g * h) + j, r).CopyTo(tail[(g * w)..]);
                    }

                    c.Slice(j, r).CopyTo(tail[(4 * w)..]);
                    (cNext, hNext) = LstmOutOfLine<TL, TV>(
                        TL.Load(tail), TL.Load(tail[w..]), TL.Load(tail[(2 * w)..]),
                        TL.Load(tail[(3 * w)..]), TL.Load(tail[(4 * w)..]));
                }

                StoreFirst<TL, TV>(cNext, r, c[j..]);
                StoreFirst<TL, TV>(hNext, r, destination[j..]);
            }
        }
    }

    /// <summary>
    /// GRU: for each row, with x-part <paramref name="inputGates"/> (3H: x W_iᵀ + b_i [+ b_h for r, z]) and h-part
    /// <paramref name="hiddenGates"/> (3H: h W_hᵀ [+ b_hn for n]): r, z = σ(x-part + h-part), n = tanh(x_n + r·h_n),
    /// h' = (h − n)·z + n as PyTorch's CPU kernel computes it. <paramref name="previous"/> may be
    /// <paramref name="hidden"/> itself: each piece of a row reads its h before writing h' over it.
    /// </summary>
    public static void GruStep(
        ReadOnlySpan<float> inputGates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> previous, int previousStride,
        Span<float> hidden, int hiddenStride, int batch, int hiddenSize) =>
        GruStep(inputGates, hiddenGates, previous, previousStride, hidden, hiddenStride, batch, hiddenSize, 0, hiddenSize);

    /// <summary>As above for units [<paramref name="firstUnit"/>, +<paramref name="units"/>) of each row only.</summary>
    public static void GruStep(
        ReadOnlySpan<float> inputGates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> previous, int previousStride,
        Span<float> hidden, int hiddenStride, int batch, int hiddenSize, int firstUnit, int units)
    {
        if (Wide)
        {
            GruStep<Lanes512, Vector512<float>>(inputGates, hiddenGates, previous, previousStride, hidden, hiddenStride, batch, hiddenSize, firstUnit, units);
        }
        else
        {
            GruStep<NaturalLanes, Vector<float>>(inputGates, hiddenGates, previous, previousStride, hidden, hiddenStride, batch, hiddenSize, firstUnit, units);
        }
    }

    /// <summary>GRU on the lanes of <typeparamref name="TL"/> (tests call each width directly).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GruStep<TL, TV>(
        ReadOnlySpan<float> inputGates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> previous, int previousStride,
        Span<float> hidden, int hiddenStride, int batch, int hiddenSize, int firstUnit, int units)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        int h = hiddenSize, w = TL.Count, end = firstUnit + units;
        if (h < w && batch > 1 && firstUnit == 0 && units == h)
        {
            GruAcrossRows<TL, TV>(inputGates, hiddenGates, previous, previousStride, hidden, hiddenStride, batch, h);
            return;
        }

        Span<float> tail = stackalloc float[7 * TL.Count];
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = inputGates.Slice(n * 3 * h, 3 * h);
            ReadOnlySpan<float> hh = hiddenGates.Slice(n * 3 * h, 3 * h);
            ReadOnlySpan<float> hPrev = previous.Slice(n * previousStride, h);
            Span<float> destination = hidden.Slice(n * hiddenStride, h);
            int j = firstUnit + ((end - firstUnit) / (2 * w) * 2 * w);
            if (j > firstUnit)
            {
                GruPairs<TL, TV>(x, hh, hPrev, destination, h, firstUnit, j);
            }

            for (; j <= end - w; j += w)
            {
                TL.Store(
                    GruOutOfLine<TL, TV>(
                        TL.Load(x[j..]), TL.Load(x[(h + j)..]), TL.Load(x[((2 * h) + j)..]),
                        TL.Load(hh[j..]), TL.Load(hh[(h + j)..]), TL.Load(hh[((2 * h) + j)..]),
                        TL.Load(hPrev[j..])),
                    destination[j..]);
            }

            if (j < end)
            {
                int r = end - j, rowStart = n * 3 * h, previousStart = n * previousStride;
                TV next;
                if (rowStart + (2 * h) + j + w <= Math.Min(inputGates.Length, hiddenGates.Length) && previousStart + j + w <= previous.Length)
                {
                    // Whole vectors fit in the spans: lanes past r hold the next floats and are never stored.
                    next = GruOutOfLine<TL, TV>(
                        TL.Load(inputGates[(rowStart + j)..]), TL.Load(inputGates[(rowStart + h + j)..]),
                        TL.Load(inputGates[(rowStart + (2 * h) + j)..]), TL.Load(hiddenGates[(rowStart + j)..]),
                        TL.Load(hiddenGates[(rowStart + h + j)..]), TL.Load(hiddenGates[(rowStart + (2 * h) + j)..]),
                        TL.Load(previous[(previousStart + j)..]));
                }
                else
                {
                    for (int g = 0; g < 3; g++)
                    {
                        x.Slice((g * h) + j, r).CopyTo(tail[(g * w)..]);
                        hh.Slice((g * h) + j, r).CopyTo(tail[((3 + g) * w)..]);
                    }

                    hPrev.Slice(j, r).CopyTo(tail[(6 * w)..]);
                    next = GruOutOfLine<TL, TV>(
                        TL.Load(tail), TL.Load(tail[w..]), TL.Load(tail[(2 * w)..]),
                        TL.Load(tail[(3 * w)..]), TL.Load(tail[(4 * w)..]), TL.Load(tail[(5 * w)..]),
                        TL.Load(tail[(6 * w)..]));
                }

                StoreFirst<TL, TV>(next, r, destination[j..]);
            }
        }
    }

    /// <summary>RNN: h' = act(pre) for each row of <paramref name="gates"/> (N×H), written to <paramref name="hidden"/>.</summary>
    public static void RnnStep(ReadOnlySpan<float> gates, Span<float> hidden, int hiddenStride, int batch, int hiddenSize, Nonlinearity nonlinearity) =>
        RnnStep(gates, hidden, hiddenStride, batch, hiddenSize, nonlinearity, 0, hiddenSize);

    /// <summary>As above for units [<paramref name="firstUnit"/>, +<paramref name="units"/>) of each row only.</summary>
    public static void RnnStep(
        ReadOnlySpan<float> gates, Span<float> hidden, int hiddenStride, int batch, int hiddenSize, Nonlinearity nonlinearity, int firstUnit, int units)
    {
        if (Wide)
        {
            RnnStep<Lanes512, Vector512<float>>(gates, hidden, hiddenStride, batch, hiddenSize, nonlinearity, firstUnit, units);
        }
        else
        {
            RnnStep<NaturalLanes, Vector<float>>(gates, hidden, hiddenStride, batch, hiddenSize, nonlinearity, firstUnit, units);
        }
    }

    /// <summary>RNN on the lanes of <typeparamref name="TL"/> (tests call each width directly).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RnnStep<TL, TV>(
        ReadOnlySpan<float> gates, Span<float> hidden, int hiddenStride, int batch, int hiddenSize, Nonlinearity nonlinearity, int firstUnit, int units)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        // Whole rows stored back to back on both sides: one flat row of batch·H units (no tail per row).
        if (hiddenStride == hiddenSize && firstUnit == 0 && units == hiddenSize && batch > 1)
        {
            int all = batch * hiddenSize;
            RnnStep<TL, TV>(gates, hidden, all, 1, all, nonlinearity, 0, all);
            return;
        }

        int h = hiddenSize, w = TL.Count, end = firstUnit + units;
        bool tanh = nonlinearity == Nonlinearity.Tanh;
        Span<float> tail = stackalloc float[TL.Count];
        if (h < w && batch > 1 && firstUnit == 0 && units == h)
        {
            // Rows shorter than a vector, stored apart: the batch·H pre-activations are back to back, so take them a
            // vector at a time across rows and put each cell in its row.
            int all = batch * h;
            for (int q0 = 0; q0 < all; q0 += w)
            {
                int count = Math.Min(w, all - q0);
                gates.Slice(q0, count).CopyTo(tail);
                var v = TL.Load(tail);
                TL.Store(tanh ? VectorMath.Tanh<TL, TV>(v) : VectorMath.Relu<TL, TV>(v), tail);
                ScatterRows(tail[..count], hidden, hiddenStride, h, q0 / h, q0 % h);
            }

            return;
        }

        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> pre = gates.Slice(n * h, h);
            Span<float> destination = hidden.Slice(n * hiddenStride, h);
            int j = firstUnit;
            if (tanh && end - firstUnit >= 4 * w)
            {
                j += (end - firstUnit) / (4 * w) * 4 * w;
                TanhQuads<TL, TV>(pre, destination, firstUnit, j);
            }

            for (; j <= end - w; j += w)
            {
                var v = TL.Load(pre[j..]);
                TL.Store(tanh ? VectorMath.Tanh<TL, TV>(v) : VectorMath.Relu<TL, TV>(v), destination[j..]);
            }

            if (j < end)
            {
                int r = end - j;
                pre.Slice(j, r).CopyTo(tail);
                var v = TL.Load(tail);
                TL.Store(tanh ? VectorMath.Tanh<TL, TV>(v) : VectorMath.Relu<TL, TV>(v), tail);
                tail[..r].CopyTo(destination[j..]);
            }
        }
    }

    /// <summary>tanh of units [first, last) of <paramref name="pre"/> (last − first a multiple of 4·width) into
    /// <paramref name="destination"/>, four vectors at a time, four chains in flight (<see cref="VectorMath.Tanh4"/>,
    /// inlined): the RNN row path took one vector at a time, one chain of ~10 dependent steps. A call of its own, as
    /// <see cref="LstmCellPairs"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TanhQuads<TL, TV>(ReadOnlySpan<float> pre, Span<float> destination, int first, int last)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        // Tanh4 reads unchecked up to unit last − 1.
        if (first < 0 || last > pre.Length)
        {
            ThrowUnitsOutsideRow(first, last, pre.Length, pre.Length, destination.Length);
        }

        int w = TL.Count;
        ref float x = ref MemoryMarshal.GetReference(pre);
        for (int j = first; j < last; j += 4 * w)
        {
            VectorMath.Tanh4<TL, TV>(ref x, j, out TV y1, out TV y2, out TV y3, out TV y4);
            TL.Store(y1, destination[j..]);
            TL.Store(y2, destination[(j + w)..]);
            TL.Store(y3, destination[(j + (2 * w))..]);
            TL.Store(y4, destination[(j + (3 * w))..]);
        }
    }

    /// <summary>
    /// LSTM for H below the vector width, all units of every row: a row would fill one vector only partly, so the
    /// batch·H cells are taken a vector at a time across rows. Lane l of a piece is cell q = q0 + l (row q / H, unit
    /// q % H); its four pre-activations are gathered into vectors, c is read and written in place (cells are N×H,
    /// back to back), h' goes to row n at n·<paramref name="hiddenStride"/> (one store when rows are back to back).
    /// Lanes past the last cell are computed on whatever the buffers hold and never stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LstmAcrossRows<TL, TV>(ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int batch, int h)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        int w = TL.Count, cells = batch * h;
        _ = gates[(batch * 4 * h) - 1]; // every gathered index below is under batch·4H
        Span<float> lanes = stackalloc float[6 * TL.Count]; // i, f, g, o, c, h'
        Span<float> cellLanes = lanes[(4 * w)..(5 * w)], hiddenLanes = lanes[(5 * w)..];
        int wholeRows = h <= w / 2 ? LstmWholeRowsPerVector<TL, TV>(gates, cell, hidden, hiddenStride, batch, h, hiddenLanes) : 0;
        ref float gate = ref MemoryMarshal.GetReference(gates);
        ref float lane = ref MemoryMarshal.GetReference(lanes);
        for (int q0 = wholeRows * h, n = wholeRows, j = 0; q0 < cells; q0 += w)
        {
            int count = Math.Min(w, cells - q0), firstRow = n, firstUnit = j;
            for (int l = 0; l < count; l++)
            {
                ref float at = ref Unsafe.Add(ref gate, (n * 4 * h) + j);
                Unsafe.Add(ref lane, l) = at;
                Unsafe.Add(ref lane, w + l) = Unsafe.Add(ref at, h);
                Unsafe.Add(ref lane, (2 * w) + l) = Unsafe.Add(ref at, 2 * h);
                Unsafe.Add(ref lane, (3 * w) + l) = Unsafe.Add(ref at, 3 * h);
                if (++j == h)
                {
                    (n, j) = (n + 1, 0);
                }
            }

            // Whole vectors of c (and of h' when rows are back to back) go straight between the buffers and registers;
            // only the last, partial piece goes through lanes.
            Span<float> c = cell.Slice(q0, count);
            bool whole = count == w;
            if (!whole)
            {
                c.CopyTo(cellLanes);
            }

            var (cNext, hNext) = Lstm<TL, TV>(
                TL.Load(lanes), TL.Load(lanes[w..]), TL.Load(lanes[(2 * w)..]),
                TL.Load(lanes[(3 * w)..]), TL.Load(whole ? c : cellLanes));
            if (whole)
            {
                TL.Store(cNext, c);
            }
            else
            {
                StoreFirst<TL, TV>(cNext, count, c);
            }

            if (whole && hiddenStride == h)
            {
                TL.Store(hNext, hidden[q0..]);
            }
            else
            {
                TL.Store(hNext, hiddenLanes);
                ScatterRows(hiddenLanes[..count], hidden, hiddenStride, h, firstRow, firstUnit);
            }
        }
    }

    /// <summary>GRU for H below the vector width, all units of every row: as <see cref="LstmAcrossRows"/>, with the six
    /// pre-activation parts and h gathered. Each piece reads its h before writing h', so previous may be hidden.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GruAcrossRows<TL, TV>(
        ReadOnlySpan<float> inputGates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> previous, int previousStride,
        Span<float> hidden, int hiddenStride, int batch, int h)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        int w = TL.Count, cells = batch * h;
        _ = inputGates[(batch * 3 * h) - 1]; // every gathered index below is under batch·3H
        _ = hiddenGates[(batch * 3 * h) - 1];
        _ = previous[((batch - 1) * previousStride) + h - 1];
        Span<float> lanes = stackalloc float[8 * TL.Count]; // x r, z, n; h r, z, n; h; h'
        ref float x = ref MemoryMarshal.GetReference(inputGates);
        ref float hh = ref MemoryMarshal.GetReference(hiddenGates);
        ref float hPrev = ref MemoryMarshal.GetReference(previous);
        ref float lane = ref MemoryMarshal.GetReference(lanes);
        for (int q0 = 0, n = 0, j = 0; q0 < cells; q0 += w)
        {
            int count = Math.Min(w, cells - q0), firstRow = n, firstUnit = j;
            for (int l = 0; l < count; l++)
            {
                int at = (n * 3 * h) + j;
                ref float xAt = ref Unsafe.Add(ref x, at);
                ref float hAt = ref Unsafe.Add(ref hh, at);
                Unsafe.Add(ref lane, l) = xAt;
                Unsafe.Add(ref lane, w + l) = Unsafe.Add(ref xAt, h);
                Unsafe.Add(ref lane, (2 * w) + l) = Unsafe.Add(ref xAt, 2 * h);
                Unsafe.Add(ref lane, (3 * w) + l) = hAt;
                Unsafe.Add(ref lane, (4 * w) + l) = Unsafe.Add(ref hAt, h);
                Unsafe.Add(ref lane, (5 * w) + l) = Unsafe.Add(ref hAt, 2 * h);
                Unsafe.Add(ref lane, (6 * w) + l) = Unsafe.Add(ref hPrev, (n * previousStride) + j);
                if (++j == h)
                {
                    (n, j) = (n + 1, 0);
                }
            }

            TL.Store(
                Gru<TL, TV>(
                    TL.Load(lanes), TL.Load(lanes[w..]), TL.Load(lanes[(2 * w)..]),
                    TL.Load(lanes[(3 * w)..]), TL.Load(lanes[(4 * w)..]), TL.Load(lanes[(5 * w)..]),
                    TL.Load(lanes[(6 * w)..])),
                lanes[(7 * w)..]);
            ScatterRows(lanes.Slice(7 * w, count), hidden, hiddenStride, h, firstRow, firstUnit);
        }
    }

    /// <summary>Writes consecutive cells, starting at unit <paramref name="unit"/> of row <paramref name="row"/>, to their
    /// places in rows of <paramref name="h"/> units <paramref name="stride"/> apart: one copy when rows are back to back.</summary>
    private static void ScatterRows(ReadOnlySpan<float> cells, Span<float> destination, int stride, int h, int row, int unit)
    {
        if (stride == h)
        {
            cells.CopyTo(destination[((row * h) + unit)..]);
            return;
        }

        int last = unit + cells.Length - 1;
        _ = destination[((row + (last / h)) * stride) + (last % h)]; // the last place written, so every one before is in range
        ref float to = ref MemoryMarshal.GetReference(destination);
        for (int l = 0; l < cells.Length; l++)
        {
            Unsafe.Add(ref to, (row * stride) + unit) = cells[l];
            if (++unit == h)
            {
                (row, unit) = (row + 1, 0);
            }
        }
    }

    /// <summary>
    /// The first rows of <see cref="LstmAcrossRows{TL, TV}"/> when at least two rows fit a vector (H ≤ width / 2):
    /// r = ⌊width / H⌋ whole rows per vector, lanes [kH, (k + 1)H) holding row n + k. Each gate's vector is r plain
    /// loads merged by lane (load k starts at row n + k's gate minus kH floats, so its lane kH is that gate's first
    /// unit), not a scalar gather. c and h' are written back as whole vectors whose lanes past rH keep the values they
    /// had (read, merged, stored: those lanes belong to rows of this call, not yet computed). Stops before a piece
    /// whose loads or stores would leave the spans; returns the rows done.
    /// </summary>
    private static int LstmWholeRowsPerVector<TL, TV>(
        ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int batch, int h, Span<float> hiddenLanes)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        int w = TL.Count, r = w / h, used = r * h, gateRow = 4 * h;
        Span<float> laneIndex = stackalloc float[w];
        for (int l = 0; l < w; l++)
        {
            laneIndex[l] = l;
        }

        TV index = TL.Load(laneIndex);
        TV usedLanes = TL.LessThan(index, TL.Create(used));
        bool hiddenBackToBack = hiddenStride == h;
        int n = 0;

        // Two pieces side by side while they fit (the gate math is latency-bound on one vector). The first piece's
        // whole-vector stores reach into the second's first cells with their old values, so they go first.
        for (; n + (2 * r) <= batch; n += 2 * r)
        {
            int gateStart2 = (n + r) * gateRow, cellStart2 = (n + r) * h;
            if (gateStart2 + (3 * used) + w > gates.Length || cellStart2 + w > cell.Length || (hiddenBackToBack && cellStart2 + w > hidden.Length))
            {
                break;
            }

            LstmWholeRowsPair<TL, TV>(gates, cell, hidden, hiddenStride, h, r, n, index, usedLanes, hiddenLanes);
        }

        for (; n + r <= batch; n += r)
        {
            // The farthest reads: gate o's last load (row n + r − 1), and whole vectors of c and h' from row n.
            int gateStart = n * gateRow, cellStart = n * h;
            if (gateStart + (3 * used) + w > gates.Length || cellStart + w > cell.Length || (hiddenBackToBack && cellStart + w > hidden.Length))
            {
                break;
            }

            // At most one such piece per call (after the pairs): the math out of line keeps the pairs' inlined.
            TV cOld = TL.Load(cell[cellStart..]);
            var (cNext, hNext) = LstmOutOfLine<TL, TV>(
                RowsOfGate<TL, TV>(gates, gateStart, h, r, index), RowsOfGate<TL, TV>(gates, gateStart + h, h, r, index),
                RowsOfGate<TL, TV>(gates, gateStart + (2 * h), h, r, index), RowsOfGate<TL, TV>(gates, gateStart + (3 * h), h, r, index),
                cOld);
            TL.Store(TL.ConditionalSelect(usedLanes, cNext, cOld), cell[cellStart..]);
            StoreWholeRows<TL, TV>(hNext, hidden, hiddenStride, h, n, used, usedLanes, hiddenLanes);
        }

        return n;
    }

    /// <summary>Two pieces of <see cref="LstmWholeRowsPerVector{TL, TV}"/> side by side, rows [n, n + 2r) (the caller
    /// checked that their loads and stores stay in the spans). A call of its own, as <see cref="LstmCellPairs{TL, TV}"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void LstmWholeRowsPair<TL, TV>(
        ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int h, int r, int n, TV index, TV usedLanes, Span<float> hiddenLanes)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        int used = r * h, gateRow = 4 * h;
        int gateStart = n * gateRow, cellStart = n * h, gateStart2 = gateStart + (r * gateRow), cellStart2 = cellStart + used;
        TV cOld1 = TL.Load(cell[cellStart..]), cOld2 = TL.Load(cell[cellStart2..]);

        // The two pieces' gathered i, f, g and c staged where LstmCell2 reads them (gate k of piece p at (2k + p)·width,
        // c from 6·width), for its interleaved math. Measured on the Zen 3 machine (2026-11-30, two builds in one process,
        // both slot orders) against the out-of-line value-form call this replaced: LSTM 4 → 4 at N = 4 within 3 %, 6 → 6
        // at N = 6 3 % faster; each piece's math on its own instead (Lstm, twice) ran the first 15 % slower, and a
        // stackalloc'd stage 8 % slower.
        int w = TL.Count;
        var stage = default(StagedVectors); // every float used is written before it is read (SkipLocalsInit)
        Span<float> staged = stage[..(8 * w)];
        for (int gate = 0; gate < 3; gate++)
        {
            TL.Store(RowsOfGate<TL, TV>(gates, gateStart + (gate * h), h, r, index), staged[(2 * gate * w)..]);
            TL.Store(RowsOfGate<TL, TV>(gates, gateStart2 + (gate * h), h, r, index), staged[(((2 * gate) + 1) * w)..]);
        }

        TL.Store(cOld1, staged[(6 * w)..]);
        TL.Store(cOld2, staged[(7 * w)..]);
        LstmCell2<TL, TV>(ref MemoryMarshal.GetReference(staged), 2 * w, 0, w, ref staged[6 * w], 0, w, out TV c1, out TV c2);

        // Then their o gates over i and c' over c, for LstmHidden2.
        TL.Store(RowsOfGate<TL, TV>(gates, gateStart + (3 * h), h, r, index), staged);
        TL.Store(RowsOfGate<TL, TV>(gates, gateStart2 + (3 * h), h, r, index), staged[w..]);
        TL.Store(c1, staged[(6 * w)..]);
        TL.Store(c2, staged[(7 * w)..]);
        LstmHidden2<TL, TV>(ref MemoryMarshal.GetReference(staged), 0, w, ref staged[6 * w], 0, w, out TV h1, out TV h2);
        TL.Store(TL.ConditionalSelect(usedLanes, c1, cOld1), cell[cellStart..]);
        TL.Store(TL.ConditionalSelect(usedLanes, c2, TL.Load(cell[cellStart2..])), cell[cellStart2..]);
        StoreWholeRows<TL, TV>(h1, hidden, hiddenStride, h, n, used, usedLanes, hiddenLanes);
        StoreWholeRows<TL, TV>(h2, hidden, hiddenStride, h, n + r, used, usedLanes, hiddenLanes);
    }

    /// <summary>h' of a piece of whole rows from row <paramref name="n"/> (its first <paramref name="used"/> lanes):
    /// one merged whole-vector store when rows are back to back, else scattered row by row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreWholeRows<TL, TV>(TV value, Span<float> hidden, int hiddenStride, int h, int n, int used, TV usedLanes, Span<float> hiddenLanes)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        if (hiddenStride == h)
        {
            Span<float> at = hidden[(n * h)..];
            TL.Store(TL.ConditionalSelect(usedLanes, value, TL.Load(at)), at);
        }
        else
        {
            TL.Store(value, hiddenLanes);
            ScatterRows(hiddenLanes[..used], hidden, hiddenStride, h, n, 0);
        }
    }

    /// <summary>One gate of r consecutive rows in one vector: lanes [kH, (k + 1)H) = row k's H values, the rows
    /// 4H floats apart from <paramref name="start"/> (row 0's gate). Lanes from rH on hold whatever the last load read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV RowsOfGate<TL, TV>(ReadOnlySpan<float> gates, int start, int h, int r, TV index)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV rows = TL.Load(gates[start..]);
        for (int k = 1; k < r; k++)
        {
            // Row k's gate is at start + 4kH; loading from kH floats earlier puts its first unit in lane kH.
            rows = TL.ConditionalSelect(TL.GreaterThanOrEqual(index, TL.Create(k * h)), TL.Load(gates[(start + (3 * k * h))..]), rows);
        }

        return rows;
    }

    /// <summary>Writes lanes [0, <paramref name="count"/>) of <paramref name="value"/> to the start of
    /// <paramref name="destination"/> (count &lt; the vector width) and nothing else.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFirst<TL, TV>(TV value, int count, Span<float> destination)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        destination = destination[..count];
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = TL.Lane(value, i);
        }
    }

    /// <summary>c' of units [first, last) of one row (last − first a multiple of 2·width), two vectors at a time
    /// (<see cref="LstmCell2{TL, TV}"/>, inlined), into c. A call of its own, compiled optimized from its first call.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void LstmCellPairs<TL, TV>(ReadOnlySpan<float> row, Span<float> c, int h, int first, int last)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        // LstmCell2 reads unchecked up to gate g's unit last − 1 (2h + last − 1) and c's unit last − 1.
        CheckLstmRowUnits(first, last, h, row.Length, c.Length);

        ref float gates = ref MemoryMarshal.GetReference(row);
        ref float cell = ref MemoryMarshal.GetReference(c);
        for (int j = first; j < last; j += 2 * TL.Count)
        {
            int k = j + TL.Count;
            LstmCell2<TL, TV>(ref gates, h, j, k, ref cell, j, k, out TV c1, out TV c2);
            TL.Store(c1, c[j..]);
            TL.Store(c2, c[k..]);
        }
    }

    /// <summary>Units [first, last) lie in an LSTM row of <paramref name="h"/> units: its four gates
    /// (<paramref name="gateLength"/> floats) and its c (<paramref name="cellLength"/>), which the pair loops read
    /// unchecked.</summary>
    private static void CheckLstmRowUnits(int first, int last, int h, int gateLength, int cellLength)
    {
        if (first < 0 || last > h || gateLength < 4 * h || cellLength < h)
        {
            ThrowUnitsOutsideRow(first, last, h, gateLength, cellLength);
        }
    }

    [DoesNotReturn]
    private static void ThrowUnitsOutsideRow(int first, int last, int h, int readLength, int otherLength) =>
        throw new ArgumentOutOfRangeException(nameof(last), $"units [{first}, {last}) do not fit a row of {h} units (spans of {readLength} and {otherLength} floats).");

    /// <summary>h' of units [first, last) of one row from its o gate and c' (last − first a multiple of 2·width), two
    /// vectors at a time (<see cref="LstmHidden2{TL, TV}"/>, inlined). A call of its own, as
    /// <see cref="LstmCellPairs{TL, TV}"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void LstmHiddenPairs<TL, TV>(ReadOnlySpan<float> row, ReadOnlySpan<float> c, Span<float> destination, int h, int first, int last)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        // LstmHidden2 reads unchecked up to gate o's unit last − 1 (3h + last − 1) and c's unit last − 1.
        CheckLstmRowUnits(first, last, h, row.Length, c.Length);

        ref float gates = ref MemoryMarshal.GetReference(row);
        ref float cell = ref MemoryMarshal.GetReference(c);
        for (int j = first; j < last; j += 2 * TL.Count)
        {
            int k = j + TL.Count;
            LstmHidden2<TL, TV>(ref gates, (3 * h) + j, (3 * h) + k, ref cell, j, k, out TV h1, out TV h2);
            TL.Store(h1, destination[j..]);
            TL.Store(h2, destination[k..]);
        }
    }

    /// <summary>One piece of LSTM units: (c', h') from the four pre-activations and c: c' = σ(f)·c + σ(i)·tanh(g) (one
    /// FMA), h' = σ(o)·tanh(c'), each σ·tanh product in one division (<see cref="VectorMath.SigmoidTimesTanh"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (TV Cell, TV Hidden) Lstm<TL, TV>(TV input, TV forget, TV candidate, TV output, TV cell)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV next = TL.FusedMultiplyAdd(VectorMath.Sigmoid<TL, TV>(forget), cell, VectorMath.SigmoidTimesTanh<TL, TV>(input, candidate));
        return (next, VectorMath.SigmoidTimesTanh<TL, TV>(output, next));
    }

    /// <summary>The first half of the LSTM cell for two pieces side by side: c' = σ(f)·c + σ(i)·tanh(g), read from memory
    /// (<see cref="VectorMath.LstmCell2"/>). Run over a whole row (or block of units) before
    /// <see cref="LstmHidden2{TL, TV}"/>, each half is a shorter chain than the cell's whole math, which lets the core
    /// overlap more pieces: the LSTM gate math ran 7–8 % faster on the CI machine (2026-11-29, GateMath.LstmStep alone,
    /// best of runs; N = 64, H = 512: 1.88 → 1.73 ns a cell). Its six exponentials run side by side, as do the four of the
    /// second half: on the Zen 3 machine (2026-11-30, two builds in one process, both slot orders) the LSTM gate math ran
    /// 1.23× as fast in rows (N = 64, H = 256) and 1.16× in lanes than with two chains at a time (the σ(i)·tanh(g) pair,
    /// then σ(f)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void LstmCell2<TL, TV>(
        ref float gates, nint gateStride, nint at1, nint at2, ref float cell, nint cellAt1, nint cellAt2, out TV nextCell1, out TV nextCell2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        VectorMath.LstmCell2<TL, TV>(ref gates, gateStride, at1, at2, ref cell, cellAt1, cellAt2, out nextCell1, out nextCell2);
    }

    /// <summary>The second half of the LSTM cell for two pieces side by side (after <see cref="LstmCell2{TL, TV}"/>):
    /// h' = σ(o)·tanh(c'), o of vector k at <paramref name="gates"/> + at(k), c' at <paramref name="cell"/> + cellAt(k)
    /// (unchecked, <see cref="VectorMath.SigmoidTimesTanh2"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void LstmHidden2<TL, TV>(ref float gates, nint at1, nint at2, ref float cell, nint cellAt1, nint cellAt2, out TV hidden1, out TV hidden2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct =>
        VectorMath.SigmoidTimesTanh2<TL, TV>(ref gates, at1, at2, ref cell, cellAt1, cellAt2, out hidden1, out hidden2);

    /// <summary><see cref="Lstm{TL, TV}"/> as a call, for the pieces of a row after its pairs (one vector, then the last
    /// partial one): inlining every copy of the gate math into one method exhausts the JIT's inlining budget, which then
    /// leaves the lane operations themselves as calls.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static (TV Cell, TV Hidden) LstmOutOfLine<TL, TV>(TV input, TV forget, TV candidate, TV output, TV cell)
        where TL : struct, IFloatLanes<TV>
        where TV : struct => Lstm<TL, TV>(input, forget, candidate, output, cell);

    /// <summary><see cref="Gru{TL, TV}"/> as a call, for the last piece of a row (see <see cref="LstmOutOfLine{TL, TV}"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static TV GruOutOfLine<TL, TV>(TV xReset, TV xUpdate, TV xNew, TV hReset, TV hUpdate, TV hNew, TV previous)
        where TL : struct, IFloatLanes<TV>
        where TV : struct => Gru<TL, TV>(xReset, xUpdate, xNew, hReset, hUpdate, hNew, previous);

    /// <summary>Units [first, last) of one GRU row (last − first a multiple of 2·width), two vectors at a time
    /// (<see cref="Gru2{TL, TV}"/>, inlined); each lane as <see cref="Gru{TL, TV}"/>. Each pair reads its units of h before
    /// writing their h' (which may be h itself). A call of its own, as <see cref="LstmCellPairs{TL, TV}"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void GruPairs<TL, TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> hh, ReadOnlySpan<float> previous, Span<float> destination, int h, int first, int last)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        // Gru2 reads unchecked up to the n parts' unit last − 1 (2h + last − 1) and h's unit last − 1.
        if (first < 0 || last > h || x.Length < 3 * h || hh.Length < 3 * h || previous.Length < last)
        {
            ThrowUnitsOutsideRow(first, last, h, Math.Min(x.Length, hh.Length), previous.Length);
        }

        ref float input = ref MemoryMarshal.GetReference(x);
        ref float hidden = ref MemoryMarshal.GetReference(hh);
        ref float before = ref MemoryMarshal.GetReference(previous);
        for (int j = first; j < last; j += 2 * TL.Count)
        {
            int k = j + TL.Count;
            Gru2<TL, TV>(ref input, ref hidden, h, j, k, ref before, j, k, out TV next1, out TV next2);
            TL.Store(next1, destination[j..]);
            TL.Store(next2, destination[k..]);
        }
    }

    /// <summary><see cref="Gru{TL, TV}"/> for two pieces side by side, each step of the math issued for all chains in
    /// flight back to back (both pieces' r and z: <see cref="VectorMath.Sigmoid4"/>; then n: <see cref="VectorMath.Tanh2"/>):
    /// the same lane arithmetic, so the same bits. Read from memory, unchecked, as <see cref="LstmCell2{TL, TV}"/>: piece
    /// k's r, z and n parts at <paramref name="x"/> (input) and <paramref name="hh"/> (hidden) + at(k), + gateStride + at(k)
    /// and + 2·gateStride + at(k), its h at <paramref name="previous"/> + previousAt(k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Gru2<TL, TV>(
        ref float x, ref float hh, nint gateStride, nint at1, nint at2, ref float previous, nint previousAt1, nint previousAt2, out TV next1, out TV next2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        nint update = gateStride, candidate = 2 * gateStride;
        VectorMath.Sigmoid4<TL, TV>(
            TL.Add(TL.LoadUnsafe(ref x, at1), TL.LoadUnsafe(ref hh, at1)), TL.Add(TL.LoadUnsafe(ref x, at2), TL.LoadUnsafe(ref hh, at2)),
            TL.Add(TL.LoadUnsafe(ref x, update + at1), TL.LoadUnsafe(ref hh, update + at1)), TL.Add(TL.LoadUnsafe(ref x, update + at2), TL.LoadUnsafe(ref hh, update + at2)),
            out TV reset1, out TV reset2, out TV update1, out TV update2);
        VectorMath.Tanh2<TL, TV>(
            TL.FusedMultiplyAdd(reset1, TL.LoadUnsafe(ref hh, candidate + at1), TL.LoadUnsafe(ref x, candidate + at1)),
            TL.FusedMultiplyAdd(reset2, TL.LoadUnsafe(ref hh, candidate + at2), TL.LoadUnsafe(ref x, candidate + at2)),
            out TV candidate1, out TV candidate2);
        next1 = TL.FusedMultiplyAdd(TL.Subtract(TL.LoadUnsafe(ref previous, previousAt1), candidate1), update1, candidate1);
        next2 = TL.FusedMultiplyAdd(TL.Subtract(TL.LoadUnsafe(ref previous, previousAt2), candidate2), update2, candidate2);
    }

    /// <summary>One piece of GRU units: h' from the x-part (r, z, n), the h-part (r, z, n) and h.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Gru<TL, TV>(TV xReset, TV xUpdate, TV xNew, TV hReset, TV hUpdate, TV hNew, TV previous)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV reset = VectorMath.Sigmoid<TL, TV>(TL.Add(xReset, hReset));
        TV update = VectorMath.Sigmoid<TL, TV>(TL.Add(xUpdate, hUpdate));
        TV candidate = VectorMath.Tanh<TL, TV>(TL.FusedMultiplyAdd(reset, hNew, xNew));
        return TL.FusedMultiplyAdd(TL.Subtract(previous, candidate), update, candidate);
    }

    /// <summary>Room for eight vectors of up to 16 floats, on the stack (<see cref="LstmWholeRowsPair{TL, TV}"/>).</summary>
    [InlineArray(8 * 16)]
    private struct StagedVectors
    {
        private float _element;
    }
}
