using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels;

/// <summary>
/// The elementwise part of one time step for a batch of rows, after the matrix products have produced the gate
/// pre-activations: one fused pass per row that reads the gates once and writes c' and h'. Gate chunks are in
/// PyTorch's order within each row: LSTM i, f, g, o; GRU r, z, n.
/// </summary>
/// <remarks>
/// Lanes: each row is walked in <see cref="Vector{T}"/>-wide pieces of the H units; the last piece (H not a multiple
/// of the width) is loaded as whole vectors where they fit in the spans (its extra lanes then hold the floats that
/// follow: other gates, other rows) or else copied into padded vectors, computed the same way, and only its valid
/// lanes are stored. Whatever the extra lanes hold, they never reach a valid lane.
/// So every unit of every row gets the same arithmetic (<see cref="VectorMath"/>), whatever H, the batch, or how rows
/// are grouped between calls (threads, packed batches, streaming chunks): results never depend on grouping.
/// </remarks>
internal static class GateMath
{
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
        int h = hiddenSize, w = Vector<float>.Count, end = firstUnit + units;
        if (h < w && batch > 1 && firstUnit == 0 && units == h)
        {
            LstmAcrossRows(gates, cell, hidden, hiddenStride, batch, h);
            return;
        }

        Span<float> tail = stackalloc float[5 * Vector<float>.Count]; // zeroed by stackalloc (SkipLocalsInit is off)
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = gates.Slice(n * 4 * h, 4 * h);
            Span<float> c = cell.Slice(n * h, h);
            Span<float> destination = hidden.Slice(n * hiddenStride, h);
            int j = firstUnit;
            for (; j <= end - w; j += w)
            {
                var (cNext, hNext) = Lstm(
                    new Vector<float>(row[j..]), new Vector<float>(row[(h + j)..]), new Vector<float>(row[((2 * h) + j)..]),
                    new Vector<float>(row[((3 * h) + j)..]), new Vector<float>(c[j..]));
                cNext.CopyTo(c[j..]);
                hNext.CopyTo(destination[j..]);
            }

            if (j < end)
            {
                int r = end - j, rowStart = n * 4 * h, cellStart = n * h;
                Vector<float> cNext, hNext;
                if (rowStart + (3 * h) + j + w <= gates.Length && cellStart + j + w <= cell.Length)
                {
                    // Whole vectors fit in the spans: load them as they are; lanes past r hold the next floats (other
                    // gates or rows), are computed like any lane and never stored.
                    (cNext, hNext) = Lstm(
                        new Vector<float>(gates[(rowStart + j)..]), new Vector<float>(gates[(rowStart + h + j)..]),
                        new Vector<float>(gates[(rowStart + (2 * h) + j)..]), new Vector<float>(gates[(rowStart + (3 * h) + j)..]),
                        new Vector<float>(cell[(cellStart + j)..]));
                }
                else
                {
                    for (int g = 0; g < 4; g++)
                    {
                        row.Slice((g * h) + j, r).CopyTo(tail[(g * w)..]);
                    }

                    c.Slice(j, r).CopyTo(tail[(4 * w)..]);
                    (cNext, hNext) = Lstm(
                        new Vector<float>(tail), new Vector<float>(tail[w..]), new Vector<float>(tail[(2 * w)..]),
                        new Vector<float>(tail[(3 * w)..]), new Vector<float>(tail[(4 * w)..]));
                }

                StoreFirst(cNext, r, c[j..]);
                StoreFirst(hNext, r, destination[j..]);
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
        int h = hiddenSize, w = Vector<float>.Count, end = firstUnit + units;
        if (h < w && batch > 1 && firstUnit == 0 && units == h)
        {
            GruAcrossRows(inputGates, hiddenGates, previous, previousStride, hidden, hiddenStride, batch, h);
            return;
        }

        Span<float> tail = stackalloc float[7 * Vector<float>.Count];
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = inputGates.Slice(n * 3 * h, 3 * h);
            ReadOnlySpan<float> hh = hiddenGates.Slice(n * 3 * h, 3 * h);
            ReadOnlySpan<float> hPrev = previous.Slice(n * previousStride, h);
            Span<float> destination = hidden.Slice(n * hiddenStride, h);
            int j = firstUnit;
            for (; j <= end - w; j += w)
            {
                Gru(
                    new Vector<float>(x[j..]), new Vector<float>(x[(h + j)..]), new Vector<float>(x[((2 * h) + j)..]),
                    new Vector<float>(hh[j..]), new Vector<float>(hh[(h + j)..]), new Vector<float>(hh[((2 * h) + j)..]),
                    new Vector<float>(hPrev[j..])).CopyTo(destination[j..]);
            }

            if (j < end)
            {
                int r = end - j, rowStart = n * 3 * h, previousStart = n * previousStride;
                Vector<float> next;
                if (rowStart + (2 * h) + j + w <= Math.Min(inputGates.Length, hiddenGates.Length) && previousStart + j + w <= previous.Length)
                {
                    // Whole vectors fit in the spans: lanes past r hold the next floats and are never stored.
                    next = Gru(
                        new Vector<float>(inputGates[(rowStart + j)..]), new Vector<float>(inputGates[(rowStart + h + j)..]),
                        new Vector<float>(inputGates[(rowStart + (2 * h) + j)..]), new Vector<float>(hiddenGates[(rowStart + j)..]),
                        new Vector<float>(hiddenGates[(rowStart + h + j)..]), new Vector<float>(hiddenGates[(rowStart + (2 * h) + j)..]),
                        new Vector<float>(previous[(previousStart + j)..]));
                }
                else
                {
                    for (int g = 0; g < 3; g++)
                    {
                        x.Slice((g * h) + j, r).CopyTo(tail[(g * w)..]);
                        hh.Slice((g * h) + j, r).CopyTo(tail[((3 + g) * w)..]);
                    }

                    hPrev.Slice(j, r).CopyTo(tail[(6 * w)..]);
                    next = Gru(
                        new Vector<float>(tail), new Vector<float>(tail[w..]), new Vector<float>(tail[(2 * w)..]),
                        new Vector<float>(tail[(3 * w)..]), new Vector<float>(tail[(4 * w)..]), new Vector<float>(tail[(5 * w)..]),
                        new Vector<float>(tail[(6 * w)..]));
                }

                StoreFirst(next, r, destination[j..]);
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
        // Whole rows stored back to back on both sides: one flat row of batch·H units (no tail per row).
        if (hiddenStride == hiddenSize && firstUnit == 0 && units == hiddenSize && batch > 1)
        {
            int all = batch * hiddenSize;
            RnnStep(gates, hidden, all, 1, all, nonlinearity, 0, all);
            return;
        }

        int h = hiddenSize, w = Vector<float>.Count, end = firstUnit + units;
        bool tanh = nonlinearity == Nonlinearity.Tanh;
        Span<float> tail = stackalloc float[Vector<float>.Count];
        if (h < w && batch > 1 && firstUnit == 0 && units == h)
        {
            // Rows shorter than a vector, stored apart: the batch·H pre-activations are back to back, so take them a
            // vector at a time across rows and put each cell in its row.
            int all = batch * h;
            for (int q0 = 0; q0 < all; q0 += w)
            {
                int count = Math.Min(w, all - q0);
                gates.Slice(q0, count).CopyTo(tail);
                var v = new Vector<float>(tail);
                (tanh ? VectorMath.Tanh(v) : VectorMath.Relu(v)).CopyTo(tail);
                ScatterRows(tail[..count], hidden, hiddenStride, h, q0 / h, q0 % h);
            }

            return;
        }

        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> pre = gates.Slice(n * h, h);
            Span<float> destination = hidden.Slice(n * hiddenStride, h);
            int j = firstUnit;
            for (; j <= end - w; j += w)
            {
                var v = new Vector<float>(pre[j..]);
                (tanh ? VectorMath.Tanh(v) : VectorMath.Relu(v)).CopyTo(destination[j..]);
            }

            if (j < end)
            {
                int r = end - j;
                pre.Slice(j, r).CopyTo(tail);
                var v = new Vector<float>(tail);
                (tanh ? VectorMath.Tanh(v) : VectorMath.Relu(v)).CopyTo(tail);
                tail[..r].CopyTo(destination[j..]);
            }
        }
    }

    /// <summary>
    /// LSTM for H below the vector width, all units of every row: a row would fill one vector only partly, so the
    /// batch·H cells are taken a vector at a time across rows. Lane l of a piece is cell q = q0 + l (row q / H, unit
    /// q % H); its four pre-activations are gathered into vectors, c is read and written in place (cells are N×H,
    /// back to back), h' goes to row n at n·<paramref name="hiddenStride"/> (one store when rows are back to back).
    /// Lanes past the last cell are computed on whatever the buffers hold and never stored.
    /// </summary>
    private static void LstmAcrossRows(ReadOnlySpan<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int batch, int h)
    {
        int w = Vector<float>.Count, cells = batch * h;
        _ = gates[(batch * 4 * h) - 1]; // every gathered index below is under batch·4H
        Span<float> lanes = stackalloc float[6 * Vector<float>.Count]; // i, f, g, o, c, h'
        Span<float> cellLanes = lanes[(4 * w)..(5 * w)], hiddenLanes = lanes[(5 * w)..];
        ref float gate = ref MemoryMarshal.GetReference(gates);
        ref float lane = ref MemoryMarshal.GetReference(lanes);
        for (int q0 = 0, n = 0, j = 0; q0 < cells; q0 += w)
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

            Span<float> c = cell.Slice(q0, count);
            c.CopyTo(cellLanes);
            var (cNext, hNext) = Lstm(
                new Vector<float>(lanes), new Vector<float>(lanes[w..]), new Vector<float>(lanes[(2 * w)..]),
                new Vector<float>(lanes[(3 * w)..]), new Vector<float>(cellLanes));
            cNext.CopyTo(cellLanes);
            cellLanes[..count].CopyTo(c);
            hNext.CopyTo(hiddenLanes);
            ScatterRows(hiddenLanes[..count], hidden, hiddenStride, h, firstRow, firstUnit);
        }
    }

    /// <summary>GRU for H below the vector width, all units of every row: as <see cref="LstmAcrossRows"/>, with the six
    /// pre-activation parts and h gathered. Each piece reads its h before writing h', so previous may be hidden.</summary>
    private static void GruAcrossRows(
        ReadOnlySpan<float> inputGates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> previous, int previousStride,
        Span<float> hidden, int hiddenStride, int batch, int h)
    {
        int w = Vector<float>.Count, cells = batch * h;
        _ = inputGates[(batch * 3 * h) - 1]; // every gathered index below is under batch·3H
        _ = hiddenGates[(batch * 3 * h) - 1];
        _ = previous[((batch - 1) * previousStride) + h - 1];
        Span<float> lanes = stackalloc float[8 * Vector<float>.Count]; // x r, z, n; h r, z, n; h; h'
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

            Gru(
                new Vector<float>(lanes), new Vector<float>(lanes[w..]), new Vector<float>(lanes[(2 * w)..]),
                new Vector<float>(lanes[(3 * w)..]), new Vector<float>(lanes[(4 * w)..]), new Vector<float>(lanes[(5 * w)..]),
                new Vector<float>(lanes[(6 * w)..])).CopyTo(lanes[(7 * w)..]);
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

    /// <summary>Writes lanes [0, <paramref name="count"/>) of <paramref name="value"/> to the start of
    /// <paramref name="destination"/> (count &lt; the vector width) and nothing else.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFirst(Vector<float> value, int count, Span<float> destination)
    {
        destination = destination[..count];
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = value[i];
        }
    }

    /// <summary>One piece of LSTM units: (c', h') from the four pre-activations and c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<float> Cell, Vector<float> Hidden) Lstm(
        Vector<float> input, Vector<float> forget, Vector<float> candidate, Vector<float> output, Vector<float> cell)
    {
        Vector<float> next = Vector.FusedMultiplyAdd(VectorMath.Sigmoid(forget), cell, VectorMath.Sigmoid(input) * VectorMath.Tanh(candidate));
        return (next, VectorMath.Sigmoid(output) * VectorMath.Tanh(next));
    }

    /// <summary>One piece of GRU units: h' from the x-part (r, z, n), the h-part (r, z, n) and h.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Gru(
        Vector<float> xReset, Vector<float> xUpdate, Vector<float> xNew, Vector<float> hReset, Vector<float> hUpdate, Vector<float> hNew,
        Vector<float> previous)
    {
        Vector<float> reset = VectorMath.Sigmoid(xReset + hReset);
        Vector<float> update = VectorMath.Sigmoid(xUpdate + hUpdate);
        Vector<float> candidate = VectorMath.Tanh(Vector.FusedMultiplyAdd(reset, hNew, xNew));
        return Vector.FusedMultiplyAdd(previous - candidate, update, candidate);
    }
}
