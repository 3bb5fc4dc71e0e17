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
// awaiting its add (12 in all).
internal static partial class LaneSteps
{
    /// <summary>A quarter of a chunk: the lanes of one Vector128.</summary>
    private const int QuarterLanes = Lanes / 4;

    /// <summary><see cref="Product"/>'s four-row passes, half a chunk at a time, for the half chunks that hold running
    /// sequences (their gates past those are left as they were: the gate math neither reads nor stores them), with the
    /// multiply-adds the hardware has (asked once per half chunk, not per multiply-add: NativeAOT does not fold the test
    /// to a constant).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Product128(ref float w, nint panelStride, ref float x, int inputWidth, ref float h, int hiddenWidth, nint stride, ref float starts, int gateRows, ref float gates, int rows)
    {
        for (nint at = 0; at < rows; at += 2 * QuarterLanes)
        {
            if (FusedMultiplyAdds.InHardware)
            {
                Passes128<Fused128>(ref w, panelStride, ref Unsafe.Add(ref x, at), inputWidth, ref Unsafe.Add(ref h, at), hiddenWidth, stride, ref starts, gateRows, ref Unsafe.Add(ref gates, at));
            }
            else
            {
                Passes128<Unfused128>(ref w, panelStride, ref Unsafe.Add(ref x, at), inputWidth, ref Unsafe.Add(ref h, at), hiddenWidth, stride, ref starts, gateRows, ref Unsafe.Add(ref gates, at));
            }
        }
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

    /// <summary>acc + v·w as <see cref="Passes128"/> computes it.</summary>
    private interface IMultiplyAdd128
    {
        static abstract Vector128<float> Apply(Vector128<float> v, Vector128<float> w, Vector128<float> acc);
    }

#pragma warning disable CA1812 // used only as type arguments
    /// <summary>One rounding: where the hardware fuses (<see cref="FusedMultiplyAdds.InHardware"/>).</summary>
    private readonly struct Fused128 : IMultiplyAdd128
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Apply(Vector128<float> v, Vector128<float> w, Vector128<float> acc) => Vector128.FusedMultiplyAdd(v, w, acc);
    }

    /// <summary>A multiply, then an add: where the hardware does not fuse.</summary>
    private readonly struct Unfused128 : IMultiplyAdd128
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Apply(Vector128<float> v, Vector128<float> w, Vector128<float> acc) => (v * w) + acc;
    }
#pragma warning restore CA1812

    /// <summary><see cref="Lstm"/> on quarters: quarters 1 and 2 of a chunk are one pair of the gate math, 3 and 4 the
    /// other; the pairs past the running sequences carry their state over (<see cref="LivePairsEnd"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Lstm128(ref float g, ref float h, ref float c, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int columns)
    {
        int live = LivePairsEnd(rows);
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int q = 0; q * QuarterLanes < live; q += 2)
            {
                nint o = at + (q * QuarterLanes), o2 = o + QuarterLanes;
                GateMath.LstmCell2<Lanes128, Vector128<float>>(ref g, chunk, o, o2, ref c, o, o2, out Vector128<float> c1, out Vector128<float> c2);
                StoreRunning128(c1, ref c, ref c, o, rows - (q * QuarterLanes));
                StoreRunning128(c2, ref c, ref c, o2, rows - ((q + 1) * QuarterLanes));
            }
        }

        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int q = 0; q * QuarterLanes < live; q += 2)
            {
                nint o = at + (q * QuarterLanes), o2 = o + QuarterLanes;
                GateMath.LstmHidden2<Lanes128, Vector128<float>>(ref g, (3 * chunk) + o, (3 * chunk) + o2, ref c, o, o2, out Vector128<float> h1, out Vector128<float> h2);
                StoreRunning128(h1, ref h, ref hn, o, rows - (q * QuarterLanes));
                StoreRunning128(h2, ref h, ref hn, o2, rows - ((q + 1) * QuarterLanes));
            }

            CarryOver128(ref h, ref hn, at, live, columns); // c stays in place
        }
    }

    /// <summary><see cref="Gru"/> on quarters, in pairs, as far as the running sequences go.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Gru128(ref float x, ref float r, ref float h, ref float hn, nint chunk, nint stride, int hiddenSize, int rows, int columns)
    {
        int live = LivePairsEnd(rows);
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            for (int q = 0; q * QuarterLanes < live; q += 2)
            {
                nint o = at + (q * QuarterLanes), o2 = o + QuarterLanes;
                GateMath.Gru2<Lanes128, Vector128<float>>(ref x, ref r, chunk, o, o2, ref h, o, o2, out Vector128<float> next1, out Vector128<float> next2);
                StoreRunning128(next1, ref h, ref hn, o, rows - (q * QuarterLanes));
                StoreRunning128(next2, ref h, ref hn, o2, rows - ((q + 1) * QuarterLanes));
            }

            CarryOver128(ref h, ref hn, at, live, columns);
        }
    }

    /// <summary><see cref="Rnn"/> on quarters: tanh four at a time (a chunk, four chains in flight), then in pairs, as far
    /// as the running sequences go.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Rnn128(ref float g, ref float h, ref float hn, nint stride, int hiddenSize, int rows, int columns, bool tanh)
    {
        int live = LivePairsEnd(rows);
        for (int u = 0; u < hiddenSize; u++)
        {
            nint at = u * stride;
            int q = 0;
            if (tanh)
            {
                for (; (q + 4) * QuarterLanes <= live; q += 4)
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

            for (; q * QuarterLanes < live; q += 2)
            {
                nint o = at + (q * QuarterLanes), o2 = o + QuarterLanes;
                int running = rows - (q * QuarterLanes);
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
                StoreRunning128(y2, ref h, ref hn, o2, running - QuarterLanes);
            }

            CarryOver128(ref h, ref hn, at, live, columns);
        }
    }

    /// <summary>The end of the pairs of quarters (8 sequences, half a chunk) that hold running sequences: the product and
    /// the gate math stop there, and the columns from there on carry their state over.</summary>
    private static int LivePairsEnd(int rows) => (rows + (2 * QuarterLanes) - 1) / (2 * QuarterLanes) * (2 * QuarterLanes);

    /// <summary><see cref="CarryOver"/> in quarters, of one unit's columns [<paramref name="from"/>, <paramref name="columns"/>).</summary>
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
