using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// The lane steps where neither Vector512 nor Vector256 is accelerated (Arm64, x64 before AVX2): the same 16-sequence
// layout, each chunk of 16 lanes handled as four Vector128 quarters (sequences 0–3, 4–7, 8–11 and 12–15 of the chunk).
// The gate math is the same lane arithmetic as at the other widths (IFloatLanes), so the same bits. The product's chains
// are the same too, one term per kk in the same order; where the hardware fuses (Arm64) each term is a fused
// multiply-add, as at the other widths, and where it does not (x64 before AVX2) a multiply, then an add, as the
// row-major products there (Gemm.Vector128.cs): the runtime's emulation of a fused one is far too slow
// (FusedMultiplyAdds). The lane and row-major paths of a machine thus give the same bits wherever both compute the
// same chains: everywhere but on the scalar path (multiply, then add) of hardware that fuses.
//
// Registers (x64 has 16 without AVX-512): the product runs half a chunk at a time, 4 gate rows × 2 quarters = 8
// accumulators, the half chunk's two vectors of [xᵀ ; hᵀ] row kk, one broadcast W value and, unfused, the product
// awaiting its add (12 in all); a last quarter alone 8 gate rows × 1 quarter (11).
internal static partial class LaneSteps
{
    /// <summary>A quarter of a chunk: the lanes of one Vector128.</summary>
    private const int QuarterLanes = Lanes / 4;

    /// <summary><see cref="Product"/>'s four-row passes, half a chunk at a time, for the half chunks whose second quarter
    /// holds running sequences, then a last quarter alone (<see cref="QuarterPasses128"/>) when only its first does; the
    /// gates past those are scratch (left as they were, or written by the last quarter's four-row pass; the gate math
    /// stores nothing computed from them), with the multiply-adds the hardware has (asked once per call, not per
    /// multiply-add: NativeAOT does not fold the test to a constant).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Product128(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateRows, ref float gates, int rows)
    {
        int live = LiveQuartersEnd(rows), pairsEnd = live / (2 * QuarterLanes) * (2 * QuarterLanes);
        bool fused = FusedMultiplyAdds.InHardware;
        for (nint at = 0; at < pairsEnd; at += 2 * QuarterLanes)
        {
            if (fused)
            {
                Passes128<Fused128>(ref w, panelStride, ref Unsafe.Add(ref x, at), inputWidth, ref Unsafe.Add(ref h, at), hiddenWidth, stride, ref starts, gateRows, ref Unsafe.Add(ref gates, at));
            }
            else
            {
                Passes128<Unfused128>(ref w, panelStride, ref Unsafe.Add(ref x, at), inputWidth, ref Unsafe.Add(ref h, at), hiddenWidth, stride, ref starts, gateRows, ref Unsafe.Add(ref gates, at));
            }
        }

        if (pairsEnd < live)
        {
            if (fused)
            {
                QuarterPasses128<Fused128>(ref w, panelStride, ref Unsafe.Add(ref x, pairsEnd), inputWidth, ref Unsafe.Add(ref h, pairsEnd), hiddenWidth, stride, ref starts, gateRows, ref Unsafe.Add(ref gates, pairsEnd));
            }
            else
            {
                QuarterPasses128<Unfused128>(ref w, panelStride, ref Unsafe.Add(ref x, pairsEnd), inputWidth, ref Unsafe.Add(ref h, pairsEnd), hiddenWidth, stride, ref starts, gateRows, ref Unsafe.Add(ref gates, pairsEnd));
            }
        }
    }

    /// <summary>The end of the quarters of chunks (4 sequences) that hold running sequences: the product and the gate math
    /// stop there, and the columns from there on carry their state over.</summary>
    private static int LiveQuartersEnd(int rows) => (rows + QuarterLanes - 1) / QuarterLanes * QuarterLanes;

    /// <summary>
    /// All <paramref name="gateRows"/> gate rows (a multiple of 4; the padding rows written too) of one quarter: eight rows
    /// per pass (8 accumulators, as <see cref="Passes128"/>: per kk one load and eight broadcasts), the last four, if any,
    /// by <see cref="Passes128"/> over the quarter and the next. The chains of <see cref="Passes128"/>. A call of its own,
    /// so that the half chunks' loop compiles as it would without it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void QuarterPasses128<TMultiplyAdd>(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateRows, ref float gates)
        where TMultiplyAdd : struct, IMultiplyAdd128
    {
        int j = 0;
        for (; j + (2 * RowsPerPass) <= gateRows; j += 2 * RowsPerPass)
        {
            // Eight rows from a multiple of 8 lie in one panel (32 columns).
            ref float wj = ref Unsafe.Add(ref w, ((j / PackedMatrix.PanelWidth) * panelStride) + (j % PackedMatrix.PanelWidth));
            EightRowsQuarter128<TMultiplyAdd>(ref wj, ref x, inputWidth, ref h, hiddenWidth, stride, ref Unsafe.Add(ref starts, j), ref Unsafe.Add(ref gates, j * stride));
        }

        if (j < gateRows)
        {
            Passes128<TMultiplyAdd>(
                ref Unsafe.Add(ref w, ((j / PackedMatrix.PanelWidth) * panelStride) + (j % PackedMatrix.PanelWidth)), panelStride, ref x, inputWidth, ref h, hiddenWidth, stride,
                ref Unsafe.Add(ref starts, j), RowsPerPass, ref Unsafe.Add(ref gates, j * stride));
        }
    }

    /// <summary>Eight gate rows (W values at <paramref name="wj"/> and its next 7 floats, then 32 floats on per kk) of one
    /// quarter: per kk the quarter's vector of [xᵀ ; hᵀ] row kk, each row's W value broadcast and multiplied into it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EightRowsQuarter128<TMultiplyAdd>(ref float wj, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, ref float gates)
        where TMultiplyAdd : struct, IMultiplyAdd128
    {
        Vector128<float> a0 = Vector128.Create(starts), a1 = Vector128.Create(Unsafe.Add(ref starts, 1));
        Vector128<float> a2 = Vector128.Create(Unsafe.Add(ref starts, 2)), a3 = Vector128.Create(Unsafe.Add(ref starts, 3));
        Vector128<float> a4 = Vector128.Create(Unsafe.Add(ref starts, 4)), a5 = Vector128.Create(Unsafe.Add(ref starts, 5));
        Vector128<float> a6 = Vector128.Create(Unsafe.Add(ref starts, 6)), a7 = Vector128.Create(Unsafe.Add(ref starts, 7));
        for (int part = 0; part < 2; part++)
        {
            ref float z = ref part == 0 ? ref x : ref h;
            int width = part == 0 ? inputWidth : hiddenWidth;
            for (int kk = 0; kk < width; kk++)
            {
                Vector128<float> v = Vector128.LoadUnsafe(ref z);
                a0 = TMultiplyAdd.Apply(v, Vector128.Create(wj), a0);
                a1 = TMultiplyAdd.Apply(v, Vector128.Create(Unsafe.Add(ref wj, 1)), a1);
                a2 = TMultiplyAdd.Apply(v, Vector128.Create(Unsafe.Add(ref wj, 2)), a2);
                a3 = TMultiplyAdd.Apply(v, Vector128.Create(Unsafe.Add(ref wj, 3)), a3);
                a4 = TMultiplyAdd.Apply(v, Vector128.Create(Unsafe.Add(ref wj, 4)), a4);
                a5 = TMultiplyAdd.Apply(v, Vector128.Create(Unsafe.Add(ref wj, 5)), a5);
                a6 = TMultiplyAdd.Apply(v, Vector128.Create(Unsafe.Add(ref wj, 6)), a6);
                a7 = TMultiplyAdd.Apply(v, Vector128.Create(Unsafe.Add(ref wj, 7)), a7);
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

    /// <summary>All gate rows of half a chunk, four rows per pass: per kk the two quarters of [xᵀ ; hᵀ] row kk, then each
    /// row's W value broadcast and multiplied into both; accumulator (r, quarter) starts at <paramref name="starts"/>[j + r].
    /// Writes the padding rows of the last pass too.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Passes128<TMultiplyAdd>(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateRows, ref float gates)
        where TMultiplyAdd : struct, IMultiplyAdd128
    {
        for (int j = 0; j < gateRows; j += RowsPerPass)
        {
            ref float wj = ref Unsafe.Add(ref w, ((j / PackedMatrix.PanelWidth) * panelStride) + (j % PackedMatrix.PanelWidth));
            Vector128<float> a0 = Vector128.Create(Unsafe.Add(ref starts, j)), a1 = Vector128.Create(Unsafe.Add(ref starts, j + 1));
            Vector128<float> a2 = Vector128.Create(Unsafe.Add(ref starts, j + 2)), a3 = Vector128.Create(Unsafe.Add(ref starts, j + 3));
            Vector128<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3;

            // x's terms, then h's: the same chain as the input product followed by the recurrent one.
            for (int part = 0; part < 2; part++)
            {
                ref float z = ref part == 0 ? ref x : ref h;
                int width = part == 0 ? inputWidth : hiddenWidth;
                for (int kk = 0; kk < width; kk++)
                {
                    Vector128<float> va = Vector128.LoadUnsafe(ref z), vb = Vector128.LoadUnsafe(ref z, QuarterLanes);
                    Vector128<float> wv = Vector128.Create(wj);
                    a0 = TMultiplyAdd.Apply(va, wv, a0);
                    b0 = TMultiplyAdd.Apply(vb, wv, b0);
                    wv = Vector128.Create(Unsafe.Add(ref wj, 1));
                    a1 = TMultiplyAdd.Apply(va, wv, a1);
                    b1 = TMultiplyAdd.Apply(vb, wv, b1);
                    wv = Vector128.Create(Unsafe.Add(ref wj, 2));
                    a2 = TMultiplyAdd.Apply(va, wv, a2);
                    b2 = TMultiplyAdd.Apply(vb, wv, b2);
                    wv = Vector128.Create(Unsafe.Add(ref wj, 3));
                    a3 = TMultiplyAdd.Apply(va, wv, a3);
                    b3 = TMultiplyAdd.Apply(vb, wv, b3);
                    z = ref Unsafe.Add(ref z, stride);
                    wj = ref Unsafe.Add(ref wj, PackedMatrix.PanelWidth);
                }
            }

            ref float row = ref Unsafe.Add(ref gates, j * stride);
            a0.StoreUnsafe(ref row);
            b0.StoreUnsafe(ref row, QuarterLanes);
            a1.StoreUnsafe(ref Unsafe.Add(ref row, stride));
            b1.StoreUnsafe(ref Unsafe.Add(ref row, stride), QuarterLanes);
            a2.StoreUnsafe(ref Unsafe.Add(ref row, 2 * stride));
            b2.StoreUnsafe(ref Unsafe.Add(ref row, 2 * stride), QuarterLanes);
            a3.StoreUnsafe(ref Unsafe.Add(ref row, 3 * stride));
            b3.StoreUnsafe(ref Unsafe.Add(ref row, 3 * stride), QuarterLanes);
        }
    }

    /// <summary><see cref="Lstm"/> on quarters: quarters 1 and 2 of a chunk are one pair of the gate math, 3 and 4 the
    /// other, as far as the running sequences go; a last quarter whose pair holds none pairs with the same quarter of
    /// the next unit (<see cref="LiveQuartersEnd"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Lstm128(ref float g, ref float h, ref float c, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int columns)
    {
        int live = LiveQuartersEnd(rows), pairsEnd = live / (2 * QuarterLanes) * (2 * QuarterLanes);
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int q = 0; q * QuarterLanes < pairsEnd; q += 2)
            {
                nint o = at + (q * QuarterLanes), o2 = o + QuarterLanes;
                GateMath.LstmCell2<Lanes128, Vector128<float>>(ref g, chunk, o, o2, ref c, o, o2, out Vector128<float> c1, out Vector128<float> c2);
                StoreRunning128(c1, ref c, ref c, o, rows - (q * QuarterLanes));
                StoreRunning128(c2, ref c, ref c, o2, rows - ((q + 1) * QuarterLanes));
            }
        }

        int running = rows - pairsEnd; // in the last quarter, if there is one: 1 to 4
        if (pairsEnd < live)
        {
            for (int u = 0; u < hiddenSize; u += 2)
            {
                // Units u and u + 1, or the last unit's quarter and the next (not stored).
                nint o = (u * stride) + pairsEnd, o2 = u + 1 < hiddenSize ? o + stride : o + QuarterLanes;
                GateMath.LstmCell2<Lanes128, Vector128<float>>(ref g, chunk, o, o2, ref c, o, o2, out Vector128<float> c1, out Vector128<float> c2);
                StoreRunning128(c1, ref c, ref c, o, running);
                if (u + 1 < hiddenSize)
                {
                    StoreRunning128(c2, ref c, ref c, o2, running);
                }
            }
        }

        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int q = 0; q * QuarterLanes < pairsEnd; q += 2)
            {
                nint o = at + (q * QuarterLanes), o2 = o + QuarterLanes;
                GateMath.LstmHidden2<Lanes128, Vector128<float>>(ref g, (3 * chunk) + o, (3 * chunk) + o2, ref c, o, o2, out Vector128<float> h1, out Vector128<float> h2);
                StoreRunning128(h1, ref h, ref hn, o, rows - (q * QuarterLanes));
                StoreRunning128(h2, ref h, ref hn, o2, rows - ((q + 1) * QuarterLanes));
            }

            CarryOver128(ref h, ref hn, at, live, columns); // c stays in place
        }

        if (pairsEnd < live)
        {
            for (int u = 0; u < hiddenSize; u += 2)
            {
                nint o = (u * stride) + pairsEnd, o2 = u + 1 < hiddenSize ? o + stride : o + QuarterLanes;
                GateMath.LstmHidden2<Lanes128, Vector128<float>>(ref g, (3 * chunk) + o, (3 * chunk) + o2, ref c, o, o2, out Vector128<float> h1, out Vector128<float> h2);
                StoreRunning128(h1, ref h, ref hn, o, running);
                if (u + 1 < hiddenSize)
                {
                    StoreRunning128(h2, ref h, ref hn, o2, running);
                }
            }
        }
    }

    /// <summary><see cref="Gru"/> on quarters, in pairs, as far as the running sequences go; a last quarter alone as in
    /// <see cref="Lstm128"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Gru128(ref float x, ref float r, ref float h, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int columns)
    {
        int live = LiveQuartersEnd(rows), pairsEnd = live / (2 * QuarterLanes) * (2 * QuarterLanes);
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int q = 0; q * QuarterLanes < pairsEnd; q += 2)
            {
                nint o = at + (q * QuarterLanes), o2 = o + QuarterLanes;
                GateMath.Gru2<Lanes128, Vector128<float>>(ref x, ref r, chunk, o, o2, ref h, o, o2, out Vector128<float> next1, out Vector128<float> next2);
                StoreRunning128(next1, ref h, ref hn, o, rows - (q * QuarterLanes));
                StoreRunning128(next2, ref h, ref hn, o2, rows - ((q + 1) * QuarterLanes));
            }

            CarryOver128(ref h, ref hn, at, live, columns);
        }

        if (pairsEnd < live)
        {
            int running = rows - pairsEnd;
            for (int u = 0; u < hiddenSize; u += 2)
            {
                nint o = (u * stride) + pairsEnd, o2 = u + 1 < hiddenSize ? o + stride : o + QuarterLanes;
                GateMath.Gru2<Lanes128, Vector128<float>>(ref x, ref r, chunk, o, o2, ref h, o, o2, out Vector128<float> next1, out Vector128<float> next2);
                StoreRunning128(next1, ref h, ref hn, o, running);
                if (u + 1 < hiddenSize)
                {
                    StoreRunning128(next2, ref h, ref hn, o2, running);
                }
            }
        }
    }

    /// <summary><see cref="Rnn"/> on quarters: tanh four at a time (a chunk, four chains in flight), then in pairs, as far
    /// as the running sequences go; a last quarter alone as in <see cref="Lstm128"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Rnn128(ref float g, ref float h, ref float hn, nint stride, int hiddenSize, int rows, int columns, bool tanh)
    {
        int live = LiveQuartersEnd(rows), pairsEnd = live / (2 * QuarterLanes) * (2 * QuarterLanes);
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            int q = 0;
            if (tanh)
            {
                for (; (q + 4) * QuarterLanes <= pairsEnd; q += 4)
                {
                    nint o = at + (q * QuarterLanes);
                    int running = rows - (q * QuarterLanes);
                    VectorMath.Tanh4<Lanes128, Vector128<float>>(ref g, o, out var y1, out var y2, out var y3, out var y4);
                    StoreRunning128(y1, ref h, ref hn, o, running);
                    StoreRunning128(y2, ref h, ref hn, o + QuarterLanes, running - QuarterLanes);
                    StoreRunning128(y3, ref h, ref hn, o + (2 * QuarterLanes), running - (2 * QuarterLanes));
                    StoreRunning128(y4, ref h, ref hn, o + (3 * QuarterLanes), running - (3 * QuarterLanes));
                }
            }

            for (; q * QuarterLanes < pairsEnd; q += 2)
            {
                nint o = at + (q * QuarterLanes);
                RnnPair128(ref g, ref h, ref hn, o, o + QuarterLanes, rows - (q * QuarterLanes), rows - ((q + 1) * QuarterLanes), tanh);
            }

            CarryOver128(ref h, ref hn, at, live, columns);
        }

        if (pairsEnd < live)
        {
            int running = rows - pairsEnd;
            for (int u = 0; u < hiddenSize; u += 2)
            {
                nint o = (u * stride) + pairsEnd;
                bool pair = u + 1 < hiddenSize;
                RnnPair128(ref g, ref h, ref hn, o, pair ? o + stride : o + QuarterLanes, running, pair ? running : 0, tanh);
            }
        }
    }

    /// <summary>tanh or relu of the gates at offsets <paramref name="o"/> and <paramref name="o2"/>, their first
    /// <paramref name="running"/> and <paramref name="running2"/> lanes stored (<see cref="StoreRunning128"/>; none of the
    /// second from running2 ≤ 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RnnPair128(ref float g, ref float h, ref float hn, nint o, nint o2, int running, int running2, bool tanh)
    {
        Vector128<float> y1, y2;
        if (tanh)
        {
            VectorMath.Tanh2<Lanes128, Vector128<float>>(Vector128.LoadUnsafe(ref g, (nuint)o), Vector128.LoadUnsafe(ref g, (nuint)o2), out y1, out y2);
        }
        else
        {
            y1 = VectorMath.Relu<Lanes128, Vector128<float>>(Vector128.LoadUnsafe(ref g, (nuint)o));
            y2 = VectorMath.Relu<Lanes128, Vector128<float>>(Vector128.LoadUnsafe(ref g, (nuint)o2));
        }

        StoreRunning128(y1, ref h, ref hn, o, running);
        if (running2 > 0)
        {
            StoreRunning128(y2, ref h, ref hn, o2, running2);
        }
    }

    /// <summary><see cref="CarryOver"/> in quarters, of one unit's columns [<paramref name="from"/>, <paramref name="columns"/>)
    /// (from a multiple of 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CarryOver128(ref float h, ref float hn, nint at, int from, int columns)
    {
        for (nint o = at + from, end = at + columns; o < end; o += QuarterLanes)
        {
            Vector128.LoadUnsafe(ref h, (nuint)o).StoreUnsafe(ref hn, (nuint)o);
        }
    }

    /// <summary>Stores the first <paramref name="running"/> lanes of <paramref name="value"/> (none when running ≤ 0, all 4
    /// from 4) at offset <paramref name="at"/> of <paramref name="next"/>, the others coming from <paramref name="previous"/>
    /// (which may be <paramref name="next"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRunning128(Vector128<float> value, ref float previous, ref float next, nint at, int running)
    {
        if (running < QuarterLanes)
        {
            Vector128<float> keep = Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(running)).AsSingle();
            value = Vector128.ConditionalSelect(keep, value, Vector128.LoadUnsafe(ref previous, (nuint)at));
        }

        value.StoreUnsafe(ref next, (nuint)at);
    }
}
