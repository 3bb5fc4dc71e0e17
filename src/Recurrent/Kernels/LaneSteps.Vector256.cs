using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// The lane steps where Vector512 is not accelerated (AVX2): the same 16-sequence layout, each chunk of 16 lanes handled
// as two Vector256 halves (lo: sequences 0–7 of the chunk, hi: 8–15). Every lane gets the same chain of operations as
// in the Vector512 kernels (the product's FMAs in the same order; the gate math's lane arithmetic, which does not depend
// on the width: IFloatLanes), so the two give the same bits; the tests hold them to that.
//
// Registers (AVX2 has 16): the product runs one chunk at a time, 4 gate rows × 2 halves = 8 accumulators, the chunk's
// two vectors of [xᵀ ; hᵀ] row kk and one broadcast W value at a time (11 in all); the 16-lane kernel's four chunks per
// pass would need 32 accumulators here. A last half alone runs 8 gate rows × 1 half (10).
internal static partial class LaneSteps
{
    /// <summary>Half a chunk: the lanes of one Vector256.</summary>
    private const int HalfLanes = Lanes / 2;

    /// <summary>
    /// <see cref="Product"/>'s passes for sequences [0, rows): the whole chunks (those with running sequences in their
    /// upper half; <see cref="LiveHalvesEnd"/>) in four-row passes one chunk at a time; when the gates end one or two rows
    /// past a multiple of four, those rows in a tail pass over several chunks at once (<see cref="TwoRows256"/>,
    /// <see cref="OneRow256"/>), whose 8 accumulators keep both FMA units busy without the padding rows' FMAs a four-row
    /// pass spends on them (T2, 10 gates: 12 rows' worth of FMAs for 10). With three, the four-row pass is as fast as a
    /// three-row one would be (6 chains at 4 cycles' latency fill the units no better). The padding rows are then not
    /// written. A last chunk whose upper half holds no running sequence runs its lower half alone
    /// (<see cref="HalfChunkPasses256"/>; its upper half's gates are scratch: left as they were, or written by a last
    /// four-row pass).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Product256(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateWidth, ref float gates, int rows)
    {
        int live = LiveHalvesEnd(rows), wholeChunks = live / Lanes;
        int tailRows = gateWidth % RowsPerPass is 1 or 2 ? gateWidth % RowsPerPass : 0;
        int passRows = tailRows == 0 ? GateRows(gateWidth) : gateWidth - tailRows;
        if (passRows > 0)
        {
            for (int c = 0; c < wholeChunks; c++)
            {
                Passes256(
                    ref w, panelStride, ref Unsafe.Add(ref x, c * Lanes), inputWidth, ref Unsafe.Add(ref h, c * Lanes), hiddenWidth, stride, ref starts, passRows,
                    ref Unsafe.Add(ref gates, c * Lanes));
            }
        }

        if (tailRows != 0 && wholeChunks > 0)
        {
            TailPasses256(
                ref Unsafe.Add(ref w, ((passRows / PackedMatrix.PanelWidth) * panelStride) + (passRows % PackedMatrix.PanelWidth)), ref x, inputWidth, ref h, hiddenWidth,
                stride, ref Unsafe.Add(ref starts, passRows), tailRows, ref Unsafe.Add(ref gates, passRows * stride), wholeChunks);
        }

        if (live % Lanes != 0)
        {
            nint at = wholeChunks * Lanes;
            HalfChunkPasses256(
                ref w, panelStride, ref Unsafe.Add(ref x, at), inputWidth, ref Unsafe.Add(ref h, at), hiddenWidth, stride, ref starts, GateRows(gateWidth),
                ref Unsafe.Add(ref gates, at));
        }
    }

    /// <summary>The end of the halves of chunks (8 sequences) that hold running sequences: the product and the gate math
    /// stop there, and the columns from there on carry their state over.</summary>
    private static int LiveHalvesEnd(int rows) => (rows + HalfLanes - 1) / HalfLanes * HalfLanes;

    /// <summary>
    /// All <paramref name="gateRows"/> gate rows (a multiple of 4; the padding rows written too) of the lower half of one
    /// chunk: eight rows per pass (8 accumulators, as the four-row passes over both halves: per kk one load and eight
    /// broadcasts), the last four, if any, by <see cref="Passes256"/> over both halves. The chains of
    /// <see cref="Passes256"/>. A call of its own, so that the whole chunks' loop compiles as it would without it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void HalfChunkPasses256(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateRows, ref float gates)
    {
        int j = 0;
        for (; j + (2 * RowsPerPass) <= gateRows; j += 2 * RowsPerPass)
        {
            // Eight rows from a multiple of 8 lie in one panel (32 columns).
            ref float wj = ref Unsafe.Add(ref w, ((j / PackedMatrix.PanelWidth) * panelStride) + (j % PackedMatrix.PanelWidth));
            EightRowsHalf256(ref wj, ref x, inputWidth, ref h, hiddenWidth, stride, ref Unsafe.Add(ref starts, j), ref Unsafe.Add(ref gates, j * stride));
        }

        if (j < gateRows)
        {
            Passes256(
                ref Unsafe.Add(ref w, ((j / PackedMatrix.PanelWidth) * panelStride) + (j % PackedMatrix.PanelWidth)), panelStride, ref x, inputWidth, ref h, hiddenWidth, stride,
                ref Unsafe.Add(ref starts, j), RowsPerPass, ref Unsafe.Add(ref gates, j * stride));
        }
    }

    /// <summary>Eight gate rows (W values at <paramref name="wj"/> and its next 7 floats, then 32 floats on per kk) of half a
    /// chunk: per kk the half's vector of [xᵀ ; hᵀ] row kk, each row's W value broadcast and multiplied into it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EightRowsHalf256(ref float wj, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, ref float gates)
    {
        Vector256<float> a0 = Vector256.Create(starts), a1 = Vector256.Create(Unsafe.Add(ref starts, 1));
        Vector256<float> a2 = Vector256.Create(Unsafe.Add(ref starts, 2)), a3 = Vector256.Create(Unsafe.Add(ref starts, 3));
        Vector256<float> a4 = Vector256.Create(Unsafe.Add(ref starts, 4)), a5 = Vector256.Create(Unsafe.Add(ref starts, 5));
        Vector256<float> a6 = Vector256.Create(Unsafe.Add(ref starts, 6)), a7 = Vector256.Create(Unsafe.Add(ref starts, 7));
        for (int part = 0; part < 2; part++)
        {
            ref float z = ref part == 0 ? ref x : ref h;
            int width = part == 0 ? inputWidth : hiddenWidth;
            for (int kk = 0; kk < width; kk++)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref z);
                a0 = Vector256.FusedMultiplyAdd(v, Vector256.Create(wj), a0);
                a1 = Vector256.FusedMultiplyAdd(v, Vector256.Create(Unsafe.Add(ref wj, 1)), a1);
                a2 = Vector256.FusedMultiplyAdd(v, Vector256.Create(Unsafe.Add(ref wj, 2)), a2);
                a3 = Vector256.FusedMultiplyAdd(v, Vector256.Create(Unsafe.Add(ref wj, 3)), a3);
                a4 = Vector256.FusedMultiplyAdd(v, Vector256.Create(Unsafe.Add(ref wj, 4)), a4);
                a5 = Vector256.FusedMultiplyAdd(v, Vector256.Create(Unsafe.Add(ref wj, 5)), a5);
                a6 = Vector256.FusedMultiplyAdd(v, Vector256.Create(Unsafe.Add(ref wj, 6)), a6);
                a7 = Vector256.FusedMultiplyAdd(v, Vector256.Create(Unsafe.Add(ref wj, 7)), a7);
                z = ref Unsafe.Add(ref z, stride);
                wj = ref Unsafe.Add(ref wj, PackedMatrix.PanelWidth);
            }
        }

        a0.StoreUnsafe(ref gates);
        a1.StoreUnsafe(ref Unsafe.Add(ref gates, stride));
        a2.StoreUnsafe(ref Unsafe.Add(ref gates, 2 * stride));
        a3.StoreUnsafe(ref Unsafe.Add(ref gates, 3 * stride));
        a4.StoreUnsafe(ref Unsafe.Add(ref gates, 4 * stride));
        a5.StoreUnsafe(ref Unsafe.Add(ref gates, 5 * stride));
        a6.StoreUnsafe(ref Unsafe.Add(ref gates, 6 * stride));
        a7.StoreUnsafe(ref Unsafe.Add(ref gates, 7 * stride));
    }

    /// <summary>The tail pass of <see cref="Product256"/>: <paramref name="tailRows"/> (1 or 2) gate rows from W at
    /// <paramref name="wj"/> into <paramref name="tailGates"/>, for all chunks. A call of its own, so that the four-row
    /// passes' loop compiles as it would without it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TailPasses256(ref float wj, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int tailRows, ref float tailGates, int chunks)
    {
        float start0 = starts, start1 = Unsafe.Add(ref starts, 1);
        int perCall = tailRows == 2 ? 2 : 4;
        for (int c = 0; c < chunks; c += perCall)
        {
            nint at = c * Lanes;
            ref float xc = ref Unsafe.Add(ref x, at);
            ref float hc = ref Unsafe.Add(ref h, at);
            ref float gc = ref Unsafe.Add(ref tailGates, at);
            switch ((tailRows, Math.Min(perCall, chunks - c)))
            {
                case (2, 1):
                    TwoRows256<C1>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start0, start1, ref gc);
                    break;
                case (2, _):
                    TwoRows256<C2>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start0, start1, ref gc);
                    break;
                case (_, 1):
                    OneRow256<C1>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start0, ref gc);
                    break;
                case (_, 2):
                    OneRow256<C2>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start0, ref gc);
                    break;
                case (_, 3):
                    OneRow256<C3>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start0, ref gc);
                    break;
                default:
                    OneRow256<C4>(ref wj, ref xc, inputWidth, ref hc, hiddenWidth, stride, start0, ref gc);
                    break;
            }
        }
    }

    /// <summary>The last two gate rows (W values at <paramref name="wj"/>, its next float, then 32 floats on per kk) for TC
    /// (≤ 2) chunks: per kk both rows' W values broadcast, the chunks' halves of [xᵀ ; hᵀ] row kk loaded, 4·TC FMAs in the
    /// chain order of <see cref="Passes256"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TwoRows256<TC>(ref float wj, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, float start0, float start1, ref float gates)
        where TC : struct, IChunkCount
    {
        Vector256<float> lo0 = Vector256.Create(start0), lo1 = Vector256.Create(start1);
        Vector256<float> hi0 = lo0, hi1 = lo1, nextLo0 = lo0, nextHi0 = lo0, nextLo1 = lo1, nextHi1 = lo1;
        for (int part = 0; part < 2; part++)
        {
            ref float z = ref part == 0 ? ref x : ref h;
            int width = part == 0 ? inputWidth : hiddenWidth;
            for (int kk = 0; kk < width; kk++)
            {
                Vector256<float> w0 = Vector256.Create(wj), w1 = Vector256.Create(Unsafe.Add(ref wj, 1));
                Vector256<float> vlo = Vector256.LoadUnsafe(ref z), vhi = Vector256.LoadUnsafe(ref z, HalfLanes);
                lo0 = Vector256.FusedMultiplyAdd(vlo, w0, lo0);
                hi0 = Vector256.FusedMultiplyAdd(vhi, w0, hi0);
                lo1 = Vector256.FusedMultiplyAdd(vlo, w1, lo1);
                hi1 = Vector256.FusedMultiplyAdd(vhi, w1, hi1);
                if (TC.Value > 1)
                {
                    vlo = Vector256.LoadUnsafe(ref z, Lanes);
                    vhi = Vector256.LoadUnsafe(ref z, Lanes + HalfLanes);
                    nextLo0 = Vector256.FusedMultiplyAdd(vlo, w0, nextLo0);
                    nextHi0 = Vector256.FusedMultiplyAdd(vhi, w0, nextHi0);
                    nextLo1 = Vector256.FusedMultiplyAdd(vlo, w1, nextLo1);
                    nextHi1 = Vector256.FusedMultiplyAdd(vhi, w1, nextHi1);
                }

                z = ref Unsafe.Add(ref z, stride);
                wj = ref Unsafe.Add(ref wj, PackedMatrix.PanelWidth);
            }
        }

        ref float row1 = ref Unsafe.Add(ref gates, stride);
        lo0.StoreUnsafe(ref gates);
        hi0.StoreUnsafe(ref gates, HalfLanes);
        lo1.StoreUnsafe(ref row1);
        hi1.StoreUnsafe(ref row1, HalfLanes);
        if (TC.Value > 1)
        {
            nextLo0.StoreUnsafe(ref gates, Lanes);
            nextHi0.StoreUnsafe(ref gates, Lanes + HalfLanes);
            nextLo1.StoreUnsafe(ref row1, Lanes);
            nextHi1.StoreUnsafe(ref row1, Lanes + HalfLanes);
        }
    }

    /// <summary>The last gate row for TC (≤ 4) chunks: per kk its W value broadcast, the chunks' halves of [xᵀ ; hᵀ] row kk
    /// loaded, 2·TC FMAs in the chain order of <see cref="Passes256"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OneRow256<TC>(ref float wj, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, float start, ref float gates)
        where TC : struct, IChunkCount
    {
        Vector256<float> a = Vector256.Create(start), b = a, c = a, d = a, e = a, f = a, g = a, k = a;
        for (int part = 0; part < 2; part++)
        {
            ref float z = ref part == 0 ? ref x : ref h;
            int width = part == 0 ? inputWidth : hiddenWidth;
            for (int kk = 0; kk < width; kk++)
            {
                Vector256<float> wv = Vector256.Create(wj);
                a = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z), wv, a);
                b = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, HalfLanes), wv, b);
                if (TC.Value > 1)
                {
                    c = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, Lanes), wv, c);
                    d = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, Lanes + HalfLanes), wv, d);
                }

                if (TC.Value > 2)
                {
                    e = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, 2 * Lanes), wv, e);
                    f = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, (2 * Lanes) + HalfLanes), wv, f);
                }

                if (TC.Value > 3)
                {
                    g = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, 3 * Lanes), wv, g);
                    k = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, (3 * Lanes) + HalfLanes), wv, k);
                }

                z = ref Unsafe.Add(ref z, stride);
                wj = ref Unsafe.Add(ref wj, PackedMatrix.PanelWidth);
            }
        }

        a.StoreUnsafe(ref gates);
        b.StoreUnsafe(ref gates, HalfLanes);
        if (TC.Value > 1)
        {
            c.StoreUnsafe(ref gates, Lanes);
            d.StoreUnsafe(ref gates, Lanes + HalfLanes);
        }

        if (TC.Value > 2)
        {
            e.StoreUnsafe(ref gates, 2 * Lanes);
            f.StoreUnsafe(ref gates, (2 * Lanes) + HalfLanes);
        }

        if (TC.Value > 3)
        {
            g.StoreUnsafe(ref gates, 3 * Lanes);
            k.StoreUnsafe(ref gates, (3 * Lanes) + HalfLanes);
        }
    }

    /// <summary>All gate rows of one chunk, four rows per pass: per kk the chunk's two halves of [xᵀ ; hᵀ] row kk, then each
    /// row's W value broadcast and multiplied into both; accumulator (r, half) starts at <paramref name="starts"/>[j + r].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Passes256(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateRows, ref float gates)
    {
        for (int j = 0; j < gateRows; j += RowsPerPass)
        {
            ref float wj = ref Unsafe.Add(ref w, ((j / PackedMatrix.PanelWidth) * panelStride) + (j % PackedMatrix.PanelWidth));
            Vector256<float> lo0 = Vector256.Create(Unsafe.Add(ref starts, j)), lo1 = Vector256.Create(Unsafe.Add(ref starts, j + 1));
            Vector256<float> lo2 = Vector256.Create(Unsafe.Add(ref starts, j + 2)), lo3 = Vector256.Create(Unsafe.Add(ref starts, j + 3));
            Vector256<float> hi0 = lo0, hi1 = lo1, hi2 = lo2, hi3 = lo3;

            // x's terms, then h's: the same chain as the input product followed by the recurrent one.
            for (int part = 0; part < 2; part++)
            {
                ref float z = ref part == 0 ? ref x : ref h;
                int width = part == 0 ? inputWidth : hiddenWidth;
                for (int kk = 0; kk < width; kk++)
                {
                    Vector256<float> vlo = Vector256.LoadUnsafe(ref z), vhi = Vector256.LoadUnsafe(ref z, HalfLanes);
                    Vector256<float> wv = Vector256.Create(wj);
                    lo0 = Vector256.FusedMultiplyAdd(vlo, wv, lo0);
                    hi0 = Vector256.FusedMultiplyAdd(vhi, wv, hi0);
                    wv = Vector256.Create(Unsafe.Add(ref wj, 1));
                    lo1 = Vector256.FusedMultiplyAdd(vlo, wv, lo1);
                    hi1 = Vector256.FusedMultiplyAdd(vhi, wv, hi1);
                    wv = Vector256.Create(Unsafe.Add(ref wj, 2));
                    lo2 = Vector256.FusedMultiplyAdd(vlo, wv, lo2);
                    hi2 = Vector256.FusedMultiplyAdd(vhi, wv, hi2);
                    wv = Vector256.Create(Unsafe.Add(ref wj, 3));
                    lo3 = Vector256.FusedMultiplyAdd(vlo, wv, lo3);
                    hi3 = Vector256.FusedMultiplyAdd(vhi, wv, hi3);
                    z = ref Unsafe.Add(ref z, stride);
                    wj = ref Unsafe.Add(ref wj, PackedMatrix.PanelWidth);
                }
            }

            ref float row = ref Unsafe.Add(ref gates, j * stride);
            lo0.StoreUnsafe(ref row);
            hi0.StoreUnsafe(ref row, HalfLanes);
            lo1.StoreUnsafe(ref Unsafe.Add(ref row, stride));
            hi1.StoreUnsafe(ref Unsafe.Add(ref row, stride), HalfLanes);
            lo2.StoreUnsafe(ref Unsafe.Add(ref row, 2 * stride));
            hi2.StoreUnsafe(ref Unsafe.Add(ref row, 2 * stride), HalfLanes);
            lo3.StoreUnsafe(ref Unsafe.Add(ref row, 3 * stride));
            hi3.StoreUnsafe(ref Unsafe.Add(ref row, 3 * stride), HalfLanes);
        }
    }

    /// <summary><see cref="Lstm"/> on halves: the two halves of a chunk are the pair of the gate math. A last chunk whose
    /// upper half holds no running sequence pairs its lower halves of two units instead (<see cref="LiveHalvesEnd"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lstm256(ref float g, ref float h, ref float c, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int columns)
    {
        int live = LiveHalvesEnd(rows), wholeChunks = live / Lanes;
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int v = 0; v < wholeChunks; v++)
            {
                nint o = at + (v * Lanes), o2 = o + HalfLanes;
                GateMath.LstmCell2<Lanes256, Vector256<float>>(ref g, chunk, o, o2, ref c, o, o2, out Vector256<float> c1, out Vector256<float> c2);
                StoreRunning256(c1, ref c, ref c, o, rows - (v * Lanes));
                StoreRunning256(c2, ref c, ref c, o2, rows - (v * Lanes) - HalfLanes);
            }
        }

        int running = rows - (wholeChunks * Lanes); // in the half chunk, if there is one: 1 to 8
        if (live % Lanes != 0)
        {
            for (int u = 0; u < hiddenSize; u += 2)
            {
                // Units u and u + 1, or the last unit's two halves (its upper one not stored).
                nint o = (u * stride) + (wholeChunks * Lanes), o2 = u + 1 < hiddenSize ? o + stride : o + HalfLanes;
                GateMath.LstmCell2<Lanes256, Vector256<float>>(ref g, chunk, o, o2, ref c, o, o2, out Vector256<float> c1, out Vector256<float> c2);
                StoreRunning256(c1, ref c, ref c, o, running);
                if (u + 1 < hiddenSize)
                {
                    StoreRunning256(c2, ref c, ref c, o2, running);
                }
            }
        }

        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int v = 0; v < wholeChunks; v++)
            {
                nint o = at + (v * Lanes), o2 = o + HalfLanes;
                GateMath.LstmHidden2<Lanes256, Vector256<float>>(ref g, (3 * chunk) + o, (3 * chunk) + o2, ref c, o, o2, out Vector256<float> h1, out Vector256<float> h2);
                StoreRunning256(h1, ref h, ref hn, o, rows - (v * Lanes));
                StoreRunning256(h2, ref h, ref hn, o2, rows - (v * Lanes) - HalfLanes);
            }

            CarryOver256(ref h, ref hn, at, live, columns); // c stays in place
        }

        if (live % Lanes != 0)
        {
            for (int u = 0; u < hiddenSize; u += 2)
            {
                nint o = (u * stride) + (wholeChunks * Lanes), o2 = u + 1 < hiddenSize ? o + stride : o + HalfLanes;
                GateMath.LstmHidden2<Lanes256, Vector256<float>>(ref g, (3 * chunk) + o, (3 * chunk) + o2, ref c, o, o2, out Vector256<float> h1, out Vector256<float> h2);
                StoreRunning256(h1, ref h, ref hn, o, running);
                if (u + 1 < hiddenSize)
                {
                    StoreRunning256(h2, ref h, ref hn, o2, running);
                }
            }
        }
    }

    /// <summary><see cref="Gru"/> on halves; a last chunk's lower halves alone as in <see cref="Lstm256"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gru256(ref float x, ref float r, ref float h, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int columns)
    {
        int live = LiveHalvesEnd(rows), wholeChunks = live / Lanes;
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int v = 0; v < wholeChunks; v++)
            {
                nint o = at + (v * Lanes), o2 = o + HalfLanes;
                GateMath.Gru2<Lanes256, Vector256<float>>(ref x, ref r, chunk, o, o2, ref h, o, o2, out Vector256<float> next1, out Vector256<float> next2);
                StoreRunning256(next1, ref h, ref hn, o, rows - (v * Lanes));
                StoreRunning256(next2, ref h, ref hn, o2, rows - (v * Lanes) - HalfLanes);
            }

            CarryOver256(ref h, ref hn, at, live, columns);
        }

        if (live % Lanes != 0)
        {
            int running = rows - (wholeChunks * Lanes);
            for (int u = 0; u < hiddenSize; u += 2)
            {
                nint o = (u * stride) + (wholeChunks * Lanes), o2 = u + 1 < hiddenSize ? o + stride : o + HalfLanes;
                GateMath.Gru2<Lanes256, Vector256<float>>(ref x, ref r, chunk, o, o2, ref h, o, o2, out Vector256<float> next1, out Vector256<float> next2);
                StoreRunning256(next1, ref h, ref hn, o, running);
                if (u + 1 < hiddenSize)
                {
                    StoreRunning256(next2, ref h, ref hn, o2, running);
                }
            }
        }
    }

    /// <summary><see cref="Rnn"/> on halves; a last chunk's lower halves alone as in <see cref="Lstm256"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rnn256(ref float g, ref float h, ref float hn, nint stride, int hiddenSize, int rows, int columns, bool tanh)
    {
        int live = LiveHalvesEnd(rows), wholeChunks = live / Lanes;
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            int v = 0;
            if (tanh)
            {
                // Two chunks (four halves) at a time: four tanh chains in flight.
                for (; v + 2 <= wholeChunks; v += 2)
                {
                    nint o = at + (v * Lanes), o2 = o + HalfLanes, o3 = o + Lanes, o4 = o3 + HalfLanes;
                    VectorMath.Tanh4<Lanes256, Vector256<float>>(ref g, o, out Vector256<float> t1, out Vector256<float> t2, out Vector256<float> t3, out Vector256<float> t4);
                    StoreRunning256(t1, ref h, ref hn, o, rows - (v * Lanes));
                    StoreRunning256(t2, ref h, ref hn, o2, rows - (v * Lanes) - HalfLanes);
                    StoreRunning256(t3, ref h, ref hn, o3, rows - ((v + 1) * Lanes));
                    StoreRunning256(t4, ref h, ref hn, o4, rows - ((v + 1) * Lanes) - HalfLanes);
                }
            }

            for (; v < wholeChunks; v++)
            {
                nint o = at + (v * Lanes);
                RnnPair256(ref g, ref h, ref hn, o, o + HalfLanes, rows - (v * Lanes), rows - (v * Lanes) - HalfLanes, tanh);
            }

            CarryOver256(ref h, ref hn, at, live, columns);
        }

        if (live % Lanes != 0)
        {
            int running = rows - (wholeChunks * Lanes);
            for (int u = 0; u < hiddenSize; u += 2)
            {
                nint o = (u * stride) + (wholeChunks * Lanes);
                bool pair = u + 1 < hiddenSize;
                RnnPair256(ref g, ref h, ref hn, o, pair ? o + stride : o + HalfLanes, running, pair ? running : 0, tanh);
            }
        }
    }

    /// <summary>tanh or relu of the gates at offsets <paramref name="o"/> and <paramref name="o2"/>, their first
    /// <paramref name="running"/> and <paramref name="running2"/> lanes stored (<see cref="StoreRunning256"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RnnPair256(ref float g, ref float h, ref float hn, nint o, nint o2, int running, int running2, bool tanh)
    {
        Vector256<float> y1, y2;
        if (tanh)
        {
            VectorMath.Tanh2<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref g, (nuint)o), Vector256.LoadUnsafe(ref g, (nuint)o2), out y1, out y2);
        }
        else
        {
            y1 = VectorMath.Relu<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref g, (nuint)o));
            y2 = VectorMath.Relu<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref g, (nuint)o2));
        }

        StoreRunning256(y1, ref h, ref hn, o, running);
        if (running2 > 0)
        {
            StoreRunning256(y2, ref h, ref hn, o2, running2);
        }
    }

    /// <summary><see cref="CarryOver"/> in halves, of one unit's columns [<paramref name="from"/>, <paramref name="columns"/>)
    /// (from a multiple of 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CarryOver256(ref float h, ref float hn, nint at, int from, int columns)
    {
        for (nint o = at + from, end = at + columns; o < end; o += HalfLanes)
        {
            Vector256.LoadUnsafe(ref h, (nuint)o).StoreUnsafe(ref hn, (nuint)o);
        }
    }

    /// <summary>Stores the first <paramref name="running"/> lanes of <paramref name="value"/> (none when running ≤ 0, all 8
    /// from 8) at offset <paramref name="at"/> of <paramref name="next"/>, the others coming from <paramref name="previous"/>
    /// (which may be <paramref name="next"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRunning256(Vector256<float> value, ref float previous, ref float next, nint at, int running)
    {
        if (running < HalfLanes)
        {
            Vector256<float> keep = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(running)).AsSingle();
            value = Vector256.ConditionalSelect(keep, value, Vector256.LoadUnsafe(ref previous, (nuint)at));
        }

        value.StoreUnsafe(ref next, (nuint)at);
    }
}
