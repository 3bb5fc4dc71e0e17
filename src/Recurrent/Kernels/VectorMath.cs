using System.Numerics;
using System.Runtime.CompilerServices;

namespace Recurrent.Kernels;

/// <summary>
/// The gate nonlinearities on the lanes of any width an <see cref="IFloatLanes{TV}"/> describes (<see cref="NaturalLanes"/>,
/// <see cref="Lanes512"/>). Each lane computes exactly the same arithmetic, so an element's result does not depend on
/// the width, its lane, or which other elements share the vector.
/// </summary>
/// <remarks>
/// Accuracy (measured in the tests against double precision): e^x within 2 ulp, sigmoid within 4 ulp (the rounding of
/// 1 + e^−x and of the division), tanh within 3 ulp; results below the smallest normal float within an absolute error
/// under it. NaN in → NaN out, ±∞ to the limits.
/// <para>
/// NaN needs no lane select: every clamp is MinNative/MaxNative(constant, value), which gives the value back when it
/// is NaN (see <see cref="IFloatLanes{TV}.MinNative"/>), and the arithmetic after a clamp carries the NaN to the result
/// (the 2^n built from a NaN's bits only ever multiplies a NaN). Measured on the CI machine (2026-11-29): the LSTM
/// gate math alone 6–8 % faster than selecting NaN lanes back at the end (best of runs; N = 64, H = 512: 2.04 → 1.88 ns
/// a cell), T1 and T2 1.02–1.03× as fast, with the same bits.
/// </para>
/// </remarks>
internal static class VectorMath
{
    /// <summary>tanh's clamp of 2|x|: at 40, (e^40 − 1)/2 ≈ 1.2e17 and F/(F + 1) rounds to 1, as tanh(20) does.</summary>
    private const float TanhSaturatesFrom = 40f;

    /// <summary><see cref="SigmoidTimesTanh"/>'s clamp of 2|c|: from 2|c| = 18.03 on, F/(F + 1) rounds to 1 (tanh(9.02) is 1
    /// in float), and at 20 F = (e^20 − 1)/2 ≈ 2.4e8 keeps the product of the denominators finite down to σ ≈ 7e-31.</summary>
    private const float ProductSaturatesFrom = 20f;

    // e^r ≈ 1 + r + r²·P(r), P(r) = ExpP0 + ExpP1·r + … + ExpP4·r⁴ for |r| ≤ ln 2 / 2, evaluated by Horner's rule from
    // ExpP4 down in every form below (one, two, four or six vectors at a time). The coefficients are a Chebyshev fit of
    // (e^r − 1 − r)/r² on [−ln 2 / 2, ln 2 / 2] (mpmath.chebyfit, 5 terms) rounded to float: the error they leave in e^r
    // is under 1e-8 relative (a tenth of an ulp), against 2e-10 for the degree-5 P of Cephes' expf that they replace;
    // both are far below the final rounding, and one fused multiply-add less per exponential made the lane LSTM layer
    // of the tutorial (T1) 1.035× and GRU 10 → 5 1.03× as fast (Zen 3, 2026-11-30, two builds in one process, both
    // slot orders; LSTM 256 at batch 64 1.03×, T2 1.01×).
    private const float ExpP4 = 1.3926175889e-3f;
    private const float ExpP3 = 8.3631733432e-3f;
    private const float ExpP2 = 4.1666556150e-2f;
    private const float ExpP1 = 1.6666577756e-1f;
    private const float ExpP0 = 0.5f;

    /// <summary>Above this e^x overflows float: the result is +∞.</summary>
    private const float ExpOverflowAbove = 88.72283f;

    /// <summary>Below this e^x is under half the smallest denormal: the result is 0.</summary>
    private const float ExpUnderflowBelow = -103.97208f;

    /// <summary>Lower clamp of <see cref="OnePlusExpClamped"/>: e^x is a normal float here, and 2^n for its n is too.</summary>
    private const float ClampedExpFrom = -86f;

    /// <summary>Upper clamp of <see cref="OnePlusExpClamped"/>: e^x overflows to +∞ here (88.8 &gt; ln(float.MaxValue) ≈ 88.72).</summary>
    private const float ClampedExpTo = 88.8f;

    /// <summary>1.5·2^23: x·log2 e + this, rounded once (a fused multiply-add), is 1.5·2^23 + n for n = x·log2 e rounded
    /// to the nearest integer (ties to even), since floats in [2^23, 2^24) are the integers there; subtracting it again
    /// gives n exactly. (For |x·log2 e| &lt; 2^22; the callers' x stay within 129.)</summary>
    private const float RoundingShift = 12582912f;

    /// <summary>
    /// σ(x) = 1 / (1 + e^−x). For x &gt; 86 the true e^−x is below 2.4e-38, so 1 + e^−x rounds to 1 whether it is taken
    /// at −x or at the clamp −86; below x ≈ −88.38 (n = 128 in <see cref="OnePlusExpClamped"/>) σ is 0, within 5e-39 of
    /// the true value (a denormal).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV clamped = ClampedNegation<TL, TV>(x);
        return TL.Divide(TL.Create(1f), OnePlusExpClamped<TL, TV>(clamped));
    }

    /// <summary>
    /// 1 + e^x for x in [<see cref="ClampedExpFrom"/>, <see cref="ClampedExpTo"/>], NaN for NaN: e^x = 2^n·e^r with the
    /// same reduction and polynomial as <see cref="Exp"/>, but n = x·log2 e rounded in one fused multiply-add
    /// (<see cref="RoundingShift"/>, whose bits then give 2^n without a conversion), and 1 + e^r·2^n in one more, rounded
    /// once: e^r·2^n is exact for n in [−124, 127] (e^r ≥ 0.7), and 2^128 is +∞, so is the result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV OnePlusExpClamped<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV shifted = TL.FusedMultiplyAdd(x, TL.Create(1.44269504088896341f), TL.Create(RoundingShift));
        TV y = ExpReduced<TL, TV>(x, TL.Subtract(shifted, TL.Create(RoundingShift)));
        return TL.FusedMultiplyAdd(y, TL.Pow2OfShifted(shifted), TL.Create(1f));
    }

    /// <summary>e^r for r = x − n·ln 2 (|r| ≤ ln 2 / 2): 1 + r + r²·P(r) (<see cref="ReducedArgument"/>, <see cref="ExpPolynomial"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpReduced<TL, TV>(TV x, TV n)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV r = ReducedArgument<TL, TV>(x, n);
        return TL.FusedMultiplyAdd(ExpPolynomial<TL, TV>(r), TL.Multiply(r, r), TL.Add(r, TL.Create(1f)));
    }

    /// <summary>r = x − n·ln 2, with ln 2 split in two parts so that r is exact.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ReducedArgument<TL, TV>(TV x, TV n)
        where TL : struct, IFloatLanes<TV>
        where TV : struct =>
        TL.FusedMultiplyAdd(n, TL.Create(2.12194440e-4f), TL.FusedMultiplyAdd(n, TL.Create(-0.693359375f), x));

    /// <summary>P(r), the degree-4 polynomial with e^r ≈ 1 + r + r²·P(r) for |r| ≤ ln 2 / 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpPolynomial<TL, TV>(TV r)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV p = TL.FusedMultiplyAdd(TL.Create(ExpP4), r, TL.Create(ExpP3));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(ExpP2));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(ExpP1));
        return TL.FusedMultiplyAdd(p, r, TL.Create(ExpP0));
    }

    /// <summary><see cref="ExpPolynomial"/> of two vectors, each step issued for both back to back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpPolynomial2<TL, TV>(TV r1, TV r2, out TV p1, out TV p2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV c4 = TL.Create(ExpP4), c3 = TL.Create(ExpP3);
        p1 = TL.FusedMultiplyAdd(c4, r1, c3);
        p2 = TL.FusedMultiplyAdd(c4, r2, c3);
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(ExpP2));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(ExpP2));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(ExpP1));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(ExpP1));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(ExpP0));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(ExpP0));
    }

    /// <summary>
    /// e^x in single precision (Cephes' expf, with the shorter polynomial above): x = n·ln 2 + r with n = round(x·log2 e)
    /// and |r| ≤ ln 2 / 2 (ln 2 split in two parts so r is exact), e^r by a degree-6 polynomial (1 + r + r²·P(r)), then
    /// scaled by 2^n in two halves so that results near the overflow and denormal ends are right. Float arithmetic
    /// throughout (the runtime's <see cref="Vector.Exp(Vector{float})"/> widens to double, at twice the cost).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV clamped = TL.MinNative(TL.MaxNative(x, TL.Create(ExpUnderflowBelow)), TL.Create(ExpOverflowAbove));
        TV n = TL.Round(TL.Multiply(clamped, TL.Create(1.44269504088896341f)));
        TV y = ExpReduced<TL, TV>(clamped, n);

        // 2^n as two factors 2^half and 2^(n − half), half = ⌊n/2⌋, each a normal float for n in [−150, 128].
        TV half = TL.Floor(TL.Multiply(n, TL.Create(0.5f)));
        TV one = TL.Create(1f);
        TV result = TL.Multiply(TL.Multiply(y, TL.Pow2Minus1(TL.Add(half, one))), TL.Pow2Minus1(TL.Add(TL.Subtract(n, half), one)));

        result = TL.ConditionalSelect(TL.GreaterThan(x, TL.Create(ExpOverflowAbove)), TL.Create(float.PositiveInfinity), result);
        result = TL.ConditionalSelect(TL.LessThan(x, TL.Create(ExpUnderflowBelow)), TL.Create(0f), result);
        return TL.ConditionalSelect(TL.Equals(x, x), result, x);
    }

    /// <summary>
    /// tanh(x) = sign(x)·F/(F + 1), F = (e^2|x| − 1)/2 = 2^(n−1)·(e^r − 1) + (2^(n−1) − 1/2) for 2|x| = n·ln 2 + r: one
    /// formula over the whole range with no cancellation (F ≥ 0; at n = 0 it is (e^r − 1)/2 itself, so small x keep
    /// their relative accuracy), e^r − 1 = r + r²·P(r) from <see cref="ExpReduced"/>'s polynomial. 2|x| is clamped at
    /// <see cref="TanhSaturatesFrom"/>, where F/(F + 1) is 1. Within 2 ulp of tanh over 437 million floats in
    /// ±[1e-30, 25] (2026-11-30, every fourth float; sigmoid within 3); 24 operations against 33 for the polynomial below
    /// 0.625 and 1 − 2/(e^2|x| + 1) above it, both computed for every lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV ax = TL.Abs(x);
        TV f = HalfExpM1<TL, TV>(TL.MinNative(TL.Create(TanhSaturatesFrom), TL.Add(ax, ax)));
        return TL.ConditionalSelect(TL.Create(-0f), x, TL.Divide(f, TL.Add(f, TL.Create(1f)))); // t ≥ 0: x's sign bit
    }

    /// <summary>(e^y − 1)/2 for y in [0, <see cref="TanhSaturatesFrom"/>], NaN for NaN: with n = y·log2 e rounded (see
    /// <see cref="OnePlusExpClamped"/>) and h = 2^(n − 1), h·(e^r − 1) + (h − 1/2) in one fused multiply-add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV HalfExpM1<TL, TV>(TV y)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV shifted = TL.FusedMultiplyAdd(y, TL.Create(1.44269504088896341f), TL.Create(RoundingShift));
        TV r = ReducedArgument<TL, TV>(y, TL.Subtract(shifted, TL.Create(RoundingShift)));
        TV h = TL.Pow2Minus1OfShifted(shifted);
        return TL.FusedMultiplyAdd(h, TL.FusedMultiplyAdd(ExpPolynomial<TL, TV>(r), TL.Multiply(r, r), r), TL.Subtract(h, TL.Create(0.5f)));
    }

    /// <summary><see cref="Tanh{TL, TV}"/> of two vectors, each step issued for both back to back (the chain is
    /// latency-bound on one vector). Lane results are exactly Tanh's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh2<TL, TV>(TV x1, TV x2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV limit = TL.Create(TanhSaturatesFrom), one = TL.Create(1f);
        TV ax1 = TL.Abs(x1), ax2 = TL.Abs(x2);
        HalfExpM1Pair<TL, TV>(TL.MinNative(limit, TL.Add(ax1, ax1)), TL.MinNative(limit, TL.Add(ax2, ax2)), out TV f1, out TV f2);
        TV t1 = TL.Divide(f1, TL.Add(f1, one));
        TV t2 = TL.Divide(f2, TL.Add(f2, one));
        TV signBit = TL.Create(-0f);
        y1 = TL.ConditionalSelect(signBit, x1, t1);
        y2 = TL.ConditionalSelect(signBit, x2, t2);
    }

    /// <summary>
    /// σ(a)·tanh(c) with one division instead of two: sign(c)·F / ((1 + e^−a)·(F + 1)), F = (e^2|c| − 1)/2 as in
    /// <see cref="Tanh{TL, TV}"/> (2|c| clamped at <see cref="ProductSaturatesFrom"/>, where F/(F + 1) already rounds to
    /// 1, so F ≤ 2.4e8) and 1 + e^−a as in <see cref="Sigmoid{TL, TV}"/>. Within 5 ulp of the exact product over 60
    /// million random pairs (2026-11-29; σ times tanh computed apart would allow 4 + 3), except that the result is ±0
    /// where the denominator overflows, which takes σ(a) below 7.2e-31 (an absolute error under that, against the
    /// two-division form's flush below 5e-39). NaN in either argument gives NaN. Used for σ(i)·tanh(g) and
    /// σ(o)·tanh(c') in the LSTM cell: T1's lane gate math 0.77–0.82 → 0.73 µs a step (two divisions of five gone).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV SigmoidTimesTanh<TL, TV>(TV a, TV c)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV onePlus = OnePlusExpClamped<TL, TV>(ClampedNegation<TL, TV>(a));
        TV ac = TL.Abs(c);
        TV f = HalfExpM1<TL, TV>(TL.MinNative(TL.Create(ProductSaturatesFrom), TL.Add(ac, ac)));
        TV t = TL.Divide(f, TL.Multiply(onePlus, TL.Add(f, TL.Create(1f))));
        return TL.ConditionalSelect(TL.Create(-0f), c, t); // t ≥ 0: c's sign bit
    }

    /// <summary><see cref="SigmoidTimesTanh{TL, TV}"/> of two pairs of vectors: the four exponentials (1 + e^−a and
    /// (e^2|c| − 1)/2 of each pair) step by step side by side, four independent chains in flight. Lane results are
    /// exactly SigmoidTimesTanh's. Read from memory, unchecked, as <see cref="LstmCell2"/>: vector k's a at
    /// <paramref name="a"/> + aAt(k), its c at <paramref name="c"/> + cAt(k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SigmoidTimesTanh2<TL, TV>(ref float a, nint aAt1, nint aAt2, ref float c, nint cAt1, nint cAt2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV limit = TL.Create(ProductSaturatesFrom), one = TL.Create(1f);
        TV ac1 = TL.Abs(TL.LoadUnsafe(ref c, cAt1)), ac2 = TL.Abs(TL.LoadUnsafe(ref c, cAt2));
        Reduce4<TL, TV>(
            ClampedNegation<TL, TV>(TL.LoadUnsafe(ref a, aAt1)), ClampedNegation<TL, TV>(TL.LoadUnsafe(ref a, aAt2)),
            TL.MinNative(limit, TL.Add(ac1, ac1)), TL.MinNative(limit, TL.Add(ac2, ac2)),
            out TV sx1, out TV sx2, out TV sz1, out TV sz2, out TV rx1, out TV rx2, out TV rz1, out TV rz2);
        ExpPolynomial4<TL, TV>(rx1, rx2, rz1, rz2, out TV px1, out TV px2, out TV pz1, out TV pz2);
        TV onePlus1 = OnePlusExpFinish<TL, TV>(px1, rx1, sx1), onePlus2 = OnePlusExpFinish<TL, TV>(px2, rx2, sx2);
        TV f1 = HalfExpM1Finish<TL, TV>(pz1, rz1, sz1), f2 = HalfExpM1Finish<TL, TV>(pz2, rz2, sz2);
        TV signBit = TL.Create(-0f);
        y1 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref c, cAt1), TL.Divide(f1, TL.Multiply(onePlus1, TL.Add(f1, one))));
        y2 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref c, cAt2), TL.Divide(f2, TL.Multiply(onePlus2, TL.Add(f2, one))));
    }

    /// <summary>
    /// The LSTM cell's c' = σ(f)·c + σ(i)·tanh(g) for two vectors (<see cref="SigmoidTimesTanh{TL, TV}"/> and
    /// <see cref="Sigmoid{TL, TV}"/>): the six exponentials (1 + e^−i, (e^2|g| − 1)/2 and 1 + e^−f of each) step by step
    /// side by side. Each is a chain of ~10 dependent operations of 3–4 cycles; two or four in flight leave most of the
    /// FMA issue slots empty. Lane results are exactly those of the separate functions.
    /// <para>
    /// Read from memory, unchecked: vector k's i, f and g gates at <paramref name="gates"/> + at(k), + gateStride + at(k)
    /// and + 2·gateStride + at(k), its c at <paramref name="cell"/> + cellAt(k). Each is loaded where the math uses it, so
    /// that inlined into a kernel's loop nothing is staged on the stack first (the JIT copies an inlinee's loaded
    /// arguments to temporaries; with these in registers too, AVX2's 16 spill). On the Zen 3 machine (2026-11-30, builds
    /// in one process, both slot orders) T1 ran ~3 % faster with the cell inlined on vector arguments than with it as a
    /// call of its own (as it was), and ~3 % faster again reading from memory: 5–6 % in all.
    /// </para>
    /// <para>
    /// The JIT inlines no method with more than 32 IL locals (MAX_INL_LCLS, "too many locals", whatever the attribute):
    /// the clamped arguments are therefore passed on as expressions, not named (KernelAttributesTests holds every
    /// AggressiveInlining kernel method to that limit).
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LstmCell2<TL, TV>(
        ref float gates, nint gateStride, nint at1, nint at2, ref float cell, nint cellAt1, nint cellAt2, out TV nextCell1, out TV nextCell2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        nint candidates = 2 * gateStride;
        TV limit = TL.Create(ProductSaturatesFrom), one = TL.Create(1f);
        TV ag1 = TL.Abs(TL.LoadUnsafe(ref gates, candidates + at1)), ag2 = TL.Abs(TL.LoadUnsafe(ref gates, candidates + at2));
        Reduce4<TL, TV>(
            ClampedNegation<TL, TV>(TL.LoadUnsafe(ref gates, at1)), ClampedNegation<TL, TV>(TL.LoadUnsafe(ref gates, at2)),
            TL.MinNative(limit, TL.Add(ag1, ag1)), TL.MinNative(limit, TL.Add(ag2, ag2)),
            out TV si1, out TV si2, out TV sg1, out TV sg2, out TV ri1, out TV ri2, out TV rg1, out TV rg2);
        Reduce2<TL, TV>(
            ClampedNegation<TL, TV>(TL.LoadUnsafe(ref gates, gateStride + at1)), ClampedNegation<TL, TV>(TL.LoadUnsafe(ref gates, gateStride + at2)),
            out TV sf1, out TV sf2, out TV rf1, out TV rf2);
        ExpPolynomial6<TL, TV>(ri1, ri2, rg1, rg2, rf1, rf2, out TV pi1, out TV pi2, out TV pg1, out TV pg2, out TV pf1, out TV pf2);
        TV onePlusI1 = OnePlusExpFinish<TL, TV>(pi1, ri1, si1), onePlusI2 = OnePlusExpFinish<TL, TV>(pi2, ri2, si2);
        TV g1 = HalfExpM1Finish<TL, TV>(pg1, rg1, sg1), g2 = HalfExpM1Finish<TL, TV>(pg2, rg2, sg2);
        TV onePlusF1 = OnePlusExpFinish<TL, TV>(pf1, rf1, sf1), onePlusF2 = OnePlusExpFinish<TL, TV>(pf2, rf2, sf2);
        TV signBit = TL.Create(-0f);
        TV ig1 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref gates, candidates + at1), TL.Divide(g1, TL.Multiply(onePlusI1, TL.Add(g1, one))));
        TV ig2 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref gates, candidates + at2), TL.Divide(g2, TL.Multiply(onePlusI2, TL.Add(g2, one))));
        nextCell1 = TL.FusedMultiplyAdd(TL.Divide(one, onePlusF1), TL.LoadUnsafe(ref cell, cellAt1), ig1);
        nextCell2 = TL.FusedMultiplyAdd(TL.Divide(one, onePlusF2), TL.LoadUnsafe(ref cell, cellAt2), ig2);
    }

    /// <summary>−x clamped to [<see cref="ClampedExpFrom"/>, <see cref="ClampedExpTo"/>]: the argument of 1 + e^−x in σ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ClampedNegation<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct =>
        TL.MinNative(TL.Create(ClampedExpTo), TL.MaxNative(TL.Create(ClampedExpFrom), TL.Negate(x)));

    /// <summary><see cref="Tanh{TL, TV}"/> of four vectors, the four exponentials step by step side by side (see
    /// <see cref="LstmCell2"/>). Lane results are exactly Tanh's. Read from memory, unchecked, as LstmCell2: the four
    /// vectors back to back from <paramref name="x"/> + <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh4<TL, TV>(ref float x, nint at, out TV y1, out TV y2, out TV y3, out TV y4)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        nint w = TL.Count;
        TV limit = TL.Create(TanhSaturatesFrom), one = TL.Create(1f);
        TV a1 = TL.Abs(TL.LoadUnsafe(ref x, at)), a2 = TL.Abs(TL.LoadUnsafe(ref x, at + w));
        TV a3 = TL.Abs(TL.LoadUnsafe(ref x, at + (2 * w))), a4 = TL.Abs(TL.LoadUnsafe(ref x, at + (3 * w)));
        Reduce4<TL, TV>(
            TL.MinNative(limit, TL.Add(a1, a1)), TL.MinNative(limit, TL.Add(a2, a2)), TL.MinNative(limit, TL.Add(a3, a3)), TL.MinNative(limit, TL.Add(a4, a4)),
            out TV t1, out TV t2, out TV t3, out TV t4, out TV r1, out TV r2, out TV r3, out TV r4);
        ExpPolynomial4<TL, TV>(r1, r2, r3, r4, out TV p1, out TV p2, out TV p3, out TV p4);
        TV f1 = HalfExpM1Finish<TL, TV>(p1, r1, t1), f2 = HalfExpM1Finish<TL, TV>(p2, r2, t2);
        TV f3 = HalfExpM1Finish<TL, TV>(p3, r3, t3), f4 = HalfExpM1Finish<TL, TV>(p4, r4, t4);
        TV signBit = TL.Create(-0f);
        y1 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref x, at), TL.Divide(f1, TL.Add(f1, one)));
        y2 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref x, at + w), TL.Divide(f2, TL.Add(f2, one)));
        y3 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref x, at + (2 * w)), TL.Divide(f3, TL.Add(f3, one)));
        y4 = TL.ConditionalSelect(signBit, TL.LoadUnsafe(ref x, at + (3 * w)), TL.Divide(f4, TL.Add(f4, one)));
    }

    /// <summary><see cref="Sigmoid{TL, TV}"/> of four vectors, the four exponentials step by step side by side. Lane
    /// results are exactly Sigmoid's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sigmoid4<TL, TV>(TV x1, TV x2, TV x3, TV x4, out TV y1, out TV y2, out TV y3, out TV y4)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV from = TL.Create(ClampedExpFrom), to = TL.Create(ClampedExpTo), one = TL.Create(1f);
        Reduce4<TL, TV>(
            TL.MinNative(to, TL.MaxNative(from, TL.Negate(x1))), TL.MinNative(to, TL.MaxNative(from, TL.Negate(x2))),
            TL.MinNative(to, TL.MaxNative(from, TL.Negate(x3))), TL.MinNative(to, TL.MaxNative(from, TL.Negate(x4))),
            out TV t1, out TV t2, out TV t3, out TV t4, out TV r1, out TV r2, out TV r3, out TV r4);
        ExpPolynomial4<TL, TV>(r1, r2, r3, r4, out TV p1, out TV p2, out TV p3, out TV p4);
        y1 = TL.Divide(one, OnePlusExpFinish<TL, TV>(p1, r1, t1));
        y2 = TL.Divide(one, OnePlusExpFinish<TL, TV>(p2, r2, t2));
        y3 = TL.Divide(one, OnePlusExpFinish<TL, TV>(p3, r3, t3));
        y4 = TL.Divide(one, OnePlusExpFinish<TL, TV>(p4, r4, t4));
    }

    /// <summary>For four exponent arguments: t = x·log2 e + <see cref="RoundingShift"/> (n rounded, see
    /// <see cref="OnePlusExpClamped"/>) and r = x − n·ln 2, each step issued for all four back to back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reduce4<TL, TV>(TV x1, TV x2, TV x3, TV x4, out TV t1, out TV t2, out TV t3, out TV t4, out TV r1, out TV r2, out TV r3, out TV r4)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV log2e = TL.Create(1.44269504088896341f), shift = TL.Create(RoundingShift);
        t1 = TL.FusedMultiplyAdd(x1, log2e, shift);
        t2 = TL.FusedMultiplyAdd(x2, log2e, shift);
        t3 = TL.FusedMultiplyAdd(x3, log2e, shift);
        t4 = TL.FusedMultiplyAdd(x4, log2e, shift);
        r1 = ReducedArgument<TL, TV>(x1, TL.Subtract(t1, shift));
        r2 = ReducedArgument<TL, TV>(x2, TL.Subtract(t2, shift));
        r3 = ReducedArgument<TL, TV>(x3, TL.Subtract(t3, shift));
        r4 = ReducedArgument<TL, TV>(x4, TL.Subtract(t4, shift));
    }

    /// <summary><see cref="Reduce4{TL, TV}"/> for two arguments.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reduce2<TL, TV>(TV x1, TV x2, out TV t1, out TV t2, out TV r1, out TV r2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV log2e = TL.Create(1.44269504088896341f), shift = TL.Create(RoundingShift);
        t1 = TL.FusedMultiplyAdd(x1, log2e, shift);
        t2 = TL.FusedMultiplyAdd(x2, log2e, shift);
        r1 = ReducedArgument<TL, TV>(x1, TL.Subtract(t1, shift));
        r2 = ReducedArgument<TL, TV>(x2, TL.Subtract(t2, shift));
    }

    /// <summary><see cref="ExpPolynomial"/> of four vectors, each step issued for all four back to back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpPolynomial4<TL, TV>(TV r1, TV r2, TV r3, TV r4, out TV p1, out TV p2, out TV p3, out TV p4)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV c4 = TL.Create(ExpP4), c3 = TL.Create(ExpP3);
        p1 = TL.FusedMultiplyAdd(c4, r1, c3);
        p2 = TL.FusedMultiplyAdd(c4, r2, c3);
        p3 = TL.FusedMultiplyAdd(c4, r3, c3);
        p4 = TL.FusedMultiplyAdd(c4, r4, c3);
        TV c = TL.Create(ExpP2);
        p1 = TL.FusedMultiplyAdd(p1, r1, c);
        p2 = TL.FusedMultiplyAdd(p2, r2, c);
        p3 = TL.FusedMultiplyAdd(p3, r3, c);
        p4 = TL.FusedMultiplyAdd(p4, r4, c);
        c = TL.Create(ExpP1);
        p1 = TL.FusedMultiplyAdd(p1, r1, c);
        p2 = TL.FusedMultiplyAdd(p2, r2, c);
        p3 = TL.FusedMultiplyAdd(p3, r3, c);
        p4 = TL.FusedMultiplyAdd(p4, r4, c);
        c = TL.Create(ExpP0);
        p1 = TL.FusedMultiplyAdd(p1, r1, c);
        p2 = TL.FusedMultiplyAdd(p2, r2, c);
        p3 = TL.FusedMultiplyAdd(p3, r3, c);
        p4 = TL.FusedMultiplyAdd(p4, r4, c);
    }

    /// <summary><see cref="ExpPolynomial"/> of six vectors, each step issued for all six back to back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpPolynomial6<TL, TV>(TV r1, TV r2, TV r3, TV r4, TV r5, TV r6, out TV p1, out TV p2, out TV p3, out TV p4, out TV p5, out TV p6)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV c4 = TL.Create(ExpP4), c3 = TL.Create(ExpP3);
        p1 = TL.FusedMultiplyAdd(c4, r1, c3);
        p2 = TL.FusedMultiplyAdd(c4, r2, c3);
        p3 = TL.FusedMultiplyAdd(c4, r3, c3);
        p4 = TL.FusedMultiplyAdd(c4, r4, c3);
        p5 = TL.FusedMultiplyAdd(c4, r5, c3);
        p6 = TL.FusedMultiplyAdd(c4, r6, c3);
        TV c = TL.Create(ExpP2);
        p1 = TL.FusedMultiplyAdd(p1, r1, c);
        p2 = TL.FusedMultiplyAdd(p2, r2, c);
        p3 = TL.FusedMultiplyAdd(p3, r3, c);
        p4 = TL.FusedMultiplyAdd(p4, r4, c);
        p5 = TL.FusedMultiplyAdd(p5, r5, c);
        p6 = TL.FusedMultiplyAdd(p6, r6, c);
        c = TL.Create(ExpP1);
        p1 = TL.FusedMultiplyAdd(p1, r1, c);
        p2 = TL.FusedMultiplyAdd(p2, r2, c);
        p3 = TL.FusedMultiplyAdd(p3, r3, c);
        p4 = TL.FusedMultiplyAdd(p4, r4, c);
        p5 = TL.FusedMultiplyAdd(p5, r5, c);
        p6 = TL.FusedMultiplyAdd(p6, r6, c);
        c = TL.Create(ExpP0);
        p1 = TL.FusedMultiplyAdd(p1, r1, c);
        p2 = TL.FusedMultiplyAdd(p2, r2, c);
        p3 = TL.FusedMultiplyAdd(p3, r3, c);
        p4 = TL.FusedMultiplyAdd(p4, r4, c);
        p5 = TL.FusedMultiplyAdd(p5, r5, c);
        p6 = TL.FusedMultiplyAdd(p6, r6, c);
    }

    /// <summary>1 + e^x from its reduction (t, r) and polynomial p, as <see cref="OnePlusExpClamped"/> ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV OnePlusExpFinish<TL, TV>(TV p, TV r, TV t)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV one = TL.Create(1f);
        return TL.FusedMultiplyAdd(TL.FusedMultiplyAdd(p, TL.Multiply(r, r), TL.Add(r, one)), TL.Pow2OfShifted(t), one);
    }

    /// <summary>(e^y − 1)/2 from its reduction (t, r) and polynomial p, as <see cref="HalfExpM1"/> ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV HalfExpM1Finish<TL, TV>(TV p, TV r, TV t)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV h = TL.Pow2Minus1OfShifted(t);
        return TL.FusedMultiplyAdd(h, TL.FusedMultiplyAdd(p, TL.Multiply(r, r), r), TL.Subtract(h, TL.Create(0.5f)));
    }

    /// <summary><see cref="HalfExpM1{TL, TV}"/> of two vectors, each step issued for both back to back (Tanh2 and
    /// SigmoidTimesTanh2 share it). Lane results are exactly HalfExpM1's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfExpM1Pair<TL, TV>(TV y1, TV y2, out TV f1, out TV f2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV log2e = TL.Create(1.44269504088896341f), shift = TL.Create(RoundingShift), half = TL.Create(0.5f);
        TV shifted1 = TL.FusedMultiplyAdd(y1, log2e, shift);
        TV shifted2 = TL.FusedMultiplyAdd(y2, log2e, shift);
        TV r1 = ReducedArgument<TL, TV>(y1, TL.Subtract(shifted1, shift));
        TV r2 = ReducedArgument<TL, TV>(y2, TL.Subtract(shifted2, shift));
        ExpPolynomial2<TL, TV>(r1, r2, out TV p1, out TV p2);
        TV h1 = TL.Pow2Minus1OfShifted(shifted1), h2 = TL.Pow2Minus1OfShifted(shifted2);
        f1 = TL.FusedMultiplyAdd(h1, TL.FusedMultiplyAdd(p1, TL.Multiply(r1, r1), r1), TL.Subtract(h1, half));
        f2 = TL.FusedMultiplyAdd(h2, TL.FusedMultiplyAdd(p2, TL.Multiply(r2, r2), r2), TL.Subtract(h2, half));
    }

    /// <summary>max(x, 0), NaN for NaN (as torch.relu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Relu<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct =>
        TL.ConditionalSelect(TL.Equals(x, x), TL.MaxNative(x, TL.Create(0f)), x);
}
