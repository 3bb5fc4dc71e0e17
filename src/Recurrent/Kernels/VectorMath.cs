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
        TV clamped = TL.MinNative(TL.Create(ClampedExpTo), TL.MaxNative(TL.Create(ClampedExpFrom), TL.Negate(x)));
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

    /// <summary>P(r), Cephes' degree-5 polynomial with e^r ≈ 1 + r + r²·P(r) for |r| ≤ ln 2 / 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpPolynomial<TL, TV>(TV r)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV p = TL.FusedMultiplyAdd(TL.Create(1.9875691500e-4f), r, TL.Create(1.3981999507e-3f));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(8.3334519073e-3f));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(4.1665795894e-2f));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(1.6666665459e-1f));
        return TL.FusedMultiplyAdd(p, r, TL.Create(5.0000001201e-1f));
    }

    /// <summary><see cref="ExpPolynomial"/> of two vectors, each step issued for both back to back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpPolynomial2<TL, TV>(TV r1, TV r2, out TV p1, out TV p2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV c4 = TL.Create(1.9875691500e-4f), c3 = TL.Create(1.3981999507e-3f);
        p1 = TL.FusedMultiplyAdd(c4, r1, c3);
        p2 = TL.FusedMultiplyAdd(c4, r2, c3);
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(8.3334519073e-3f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(8.3334519073e-3f));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(4.1665795894e-2f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(4.1665795894e-2f));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(1.6666665459e-1f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(1.6666665459e-1f));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(5.0000001201e-1f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(5.0000001201e-1f));
    }

    /// <summary>
    /// e^x in single precision (Cephes' expf): x = n·ln 2 + r with n = round(x·log2 e) and |r| ≤ ln 2 / 2 (ln 2 split in
    /// two parts so r is exact), e^r by a degree-6 polynomial, then scaled by 2^n in two halves so that results near the
    /// overflow and denormal ends are right. Float arithmetic throughout (the runtime's <see cref="Vector.Exp(Vector{float})"/>
    /// widens to double, at twice the cost).
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
    /// <see cref="TanhSaturatesFrom"/>, where F/(F + 1) is 1. Within 2 ulp of tanh over 250 million floats in
    /// [1e-30, 25] (2026-11-29); 25 operations against 34 for the polynomial below 0.625 and 1 − 2/(e^2|x| + 1) above it,
    /// both computed for every lane.
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

    /// <summary><see cref="Sigmoid{TL, TV}"/> of two vectors, each step issued for both back to back (the chain is
    /// latency-bound on one vector). Lane results are exactly Sigmoid's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sigmoid2<TL, TV>(TV x1, TV x2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV from = TL.Create(ClampedExpFrom), to = TL.Create(ClampedExpTo), one = TL.Create(1f);
        TV c1 = TL.MinNative(to, TL.MaxNative(from, TL.Negate(x1)));
        TV c2 = TL.MinNative(to, TL.MaxNative(from, TL.Negate(x2)));
        OnePlusExpClamped2<TL, TV>(c1, c2, out TV e1, out TV e2);
        y1 = TL.Divide(one, e1);
        y2 = TL.Divide(one, e2);
    }

    /// <summary><see cref="Tanh{TL, TV}"/> of two vectors, interleaved as <see cref="Sigmoid2{TL, TV}"/>.</summary>
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
        TV onePlus = OnePlusExpClamped<TL, TV>(TL.MinNative(TL.Create(ClampedExpTo), TL.MaxNative(TL.Create(ClampedExpFrom), TL.Negate(a))));
        TV ac = TL.Abs(c);
        TV f = HalfExpM1<TL, TV>(TL.MinNative(TL.Create(ProductSaturatesFrom), TL.Add(ac, ac)));
        TV t = TL.Divide(f, TL.Multiply(onePlus, TL.Add(f, TL.Create(1f))));
        return TL.ConditionalSelect(TL.Create(-0f), c, t); // t ≥ 0: c's sign bit
    }

    /// <summary><see cref="SigmoidTimesTanh{TL, TV}"/> of two pairs of vectors, each step issued for both back to back.
    /// Lane results are exactly SigmoidTimesTanh's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SigmoidTimesTanh2<TL, TV>(TV a1, TV c1, TV a2, TV c2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV from = TL.Create(ClampedExpFrom), to = TL.Create(ClampedExpTo), limit = TL.Create(ProductSaturatesFrom), one = TL.Create(1f);
        OnePlusExpClamped2<TL, TV>(TL.MinNative(to, TL.MaxNative(from, TL.Negate(a1))), TL.MinNative(to, TL.MaxNative(from, TL.Negate(a2))), out TV onePlus1, out TV onePlus2);
        TV ac1 = TL.Abs(c1), ac2 = TL.Abs(c2);
        HalfExpM1Pair<TL, TV>(TL.MinNative(limit, TL.Add(ac1, ac1)), TL.MinNative(limit, TL.Add(ac2, ac2)), out TV f1, out TV f2);
        TV t1 = TL.Divide(f1, TL.Multiply(onePlus1, TL.Add(f1, one)));
        TV t2 = TL.Divide(f2, TL.Multiply(onePlus2, TL.Add(f2, one)));
        TV signBit = TL.Create(-0f);
        y1 = TL.ConditionalSelect(signBit, c1, t1);
        y2 = TL.ConditionalSelect(signBit, c2, t2);
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

    /// <summary><see cref="OnePlusExpClamped{TL, TV}"/> of two vectors, interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OnePlusExpClamped2<TL, TV>(TV x1, TV x2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV log2e = TL.Create(1.44269504088896341f), shift = TL.Create(RoundingShift);
        TV shifted1 = TL.FusedMultiplyAdd(x1, log2e, shift);
        TV shifted2 = TL.FusedMultiplyAdd(x2, log2e, shift);
        TV r1 = ReducedArgument<TL, TV>(x1, TL.Subtract(shifted1, shift));
        TV r2 = ReducedArgument<TL, TV>(x2, TL.Subtract(shifted2, shift));
        ExpPolynomial2<TL, TV>(r1, r2, out TV p1, out TV p2);
        TV one = TL.Create(1f);
        TV e1 = TL.FusedMultiplyAdd(p1, TL.Multiply(r1, r1), TL.Add(r1, one));
        TV e2 = TL.FusedMultiplyAdd(p2, TL.Multiply(r2, r2), TL.Add(r2, one));
        y1 = TL.FusedMultiplyAdd(e1, TL.Pow2OfShifted(shifted1), one);
        y2 = TL.FusedMultiplyAdd(e2, TL.Pow2OfShifted(shifted2), one);
    }

    /// <summary>max(x, 0), NaN for NaN (as torch.relu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Relu<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct =>
        TL.ConditionalSelect(TL.Equals(x, x), TL.MaxNative(x, TL.Create(0f)), x);
}
