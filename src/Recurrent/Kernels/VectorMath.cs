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
/// </remarks>
internal static class VectorMath
{
    /// <summary>Below this |x| tanh uses its odd polynomial: 1 − 2/(e^2|x| + 1) would cancel too many bits.</summary>
    private const float TanhPolynomialBelow = 0.625f;

    /// <summary>Above this e^x overflows float: the result is +∞.</summary>
    private const float ExpOverflowAbove = 88.72283f;

    /// <summary>Below this e^x is under half the smallest denormal: the result is 0.</summary>
    private const float ExpUnderflowBelow = -103.97208f;

    /// <summary>Lower clamp of <see cref="ExpClamped"/>: e^x is a normal float here, and 2^(n − 1) for its n is too.</summary>
    private const float ClampedExpFrom = -86f;

    /// <summary>Upper clamp of <see cref="ExpClamped"/>: e^x overflows to +∞ here (88.8 &gt; ln(float.MaxValue) ≈ 88.72).</summary>
    private const float ClampedExpTo = 88.8f;

    /// <summary>1.5·2^23: x·log2 e + this, rounded once (a fused multiply-add), is 1.5·2^23 + n for n = x·log2 e rounded
    /// to the nearest integer (ties to even), since floats in [2^23, 2^24) are the integers there; subtracting it again
    /// gives n exactly. (For |x·log2 e| &lt; 2^22; <see cref="ExpClamped"/>'s x stay within 129.)</summary>
    private const float RoundingShift = 12582912f;

    /// <summary>
    /// σ(x) = 1 / (1 + e^−x). For x &gt; 86 the true e^−x is below 2.4e-38, so 1 + e^−x rounds to 1 whether it is taken
    /// at −x or at the clamp −86; for x &lt; −88.8 e^−x is +∞ and σ is 0, within 3e-39 of the true value (a denormal).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV clamped = TL.MinNative(TL.MaxNative(TL.Negate(x), TL.Create(ClampedExpFrom)), TL.Create(ClampedExpTo));
        TV one = TL.Create(1f);
        TV result = TL.Divide(one, TL.Add(one, ExpClamped<TL, TV>(clamped)));
        return TL.ConditionalSelect(TL.Equals(x, x), result, x);
    }

    /// <summary>
    /// e^x for x in [<see cref="ClampedExpFrom"/>, <see cref="ClampedExpTo"/>] (not NaN): the same reduction and
    /// polynomial as <see cref="Exp"/>, but n = x·log2 e is rounded in one fused multiply-add (<see cref="RoundingShift"/>,
    /// whose bits then give 2^n without a conversion: 2 instructions fewer than a product, a round and a convert), and
    /// 2^n is applied as 2^(n − 1) · 2, which is exact over the whole range (n runs from −124 to 128), so no second scale
    /// factor and no end-of-range fix-ups are needed; e^x ≥ 2^128 becomes +∞.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpClamped<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV shifted = TL.FusedMultiplyAdd(x, TL.Create(1.44269504088896341f), TL.Create(RoundingShift));
        TV y = ExpReduced<TL, TV>(x, TL.Subtract(shifted, TL.Create(RoundingShift)));
        return TL.Multiply(TL.Add(y, y), TL.Pow2Minus1OfShifted(shifted));
    }

    /// <summary>e^r for r = x − n·ln 2 (|r| ≤ ln 2 / 2), with ln 2 split in two parts so that r is exact: Cephes' degree-6 polynomial.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpReduced<TL, TV>(TV x, TV n)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV r = TL.FusedMultiplyAdd(n, TL.Create(-0.693359375f), x);
        r = TL.FusedMultiplyAdd(n, TL.Create(2.12194440e-4f), r);

        TV p = TL.FusedMultiplyAdd(TL.Create(1.9875691500e-4f), r, TL.Create(1.3981999507e-3f));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(8.3334519073e-3f));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(4.1665795894e-2f));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(1.6666665459e-1f));
        p = TL.FusedMultiplyAdd(p, r, TL.Create(5.0000001201e-1f));
        return TL.FusedMultiplyAdd(p, TL.Multiply(r, r), TL.Add(r, TL.Create(1f)));
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
    /// tanh(x): for |x| &lt; 0.625, x + x·z·P(z) with z = x² (Cephes' tanhf minimax polynomial, relative error ≈ 1e-7);
    /// otherwise sign(x)·(1 − 2/(e^2|x| + 1)), which reaches ±1 exactly once e^2|x| overflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV z = TL.Multiply(x, x);
        TV p = TL.FusedMultiplyAdd(TL.Create(-5.70498872745e-3f), z, TL.Create(2.06390887954e-2f));
        p = TL.FusedMultiplyAdd(p, z, TL.Create(-5.37397155531e-2f));
        p = TL.FusedMultiplyAdd(p, z, TL.Create(1.33314422036e-1f));
        p = TL.FusedMultiplyAdd(p, z, TL.Create(-3.33332819422e-1f));
        TV small = TL.FusedMultiplyAdd(TL.Multiply(p, z), x, x);

        TV ax = TL.Abs(x);
        TV one = TL.Create(1f);
        TV e = ExpClamped<TL, TV>(TL.MinNative(TL.Add(ax, ax), TL.Create(ClampedExpTo)));
        TV large = TL.Subtract(one, TL.Divide(TL.Create(2f), TL.Add(e, one)));
        large = TL.ConditionalSelect(TL.Create(-0f), x, large); // large ≥ 0: give it x's sign bit

        // NaN compares false, so it takes the polynomial branch, which keeps it NaN.
        return TL.ConditionalSelect(TL.GreaterThanOrEqual(ax, TL.Create(TanhPolynomialBelow)), large, small);
    }

    /// <summary><see cref="Sigmoid{TL, TV}"/> of two vectors, each step issued for both back to back (the chain is
    /// latency-bound on one vector). Lane results are exactly Sigmoid's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sigmoid2<TL, TV>(TV x1, TV x2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV from = TL.Create(ClampedExpFrom), to = TL.Create(ClampedExpTo), one = TL.Create(1f);
        TV c1 = TL.MinNative(TL.MaxNative(TL.Negate(x1), from), to);
        TV c2 = TL.MinNative(TL.MaxNative(TL.Negate(x2), from), to);
        ExpClamped2<TL, TV>(c1, c2, out TV e1, out TV e2);
        TV r1 = TL.Divide(one, TL.Add(one, e1));
        TV r2 = TL.Divide(one, TL.Add(one, e2));
        y1 = TL.ConditionalSelect(TL.Equals(x1, x1), r1, x1);
        y2 = TL.ConditionalSelect(TL.Equals(x2, x2), r2, x2);
    }

    /// <summary><see cref="Tanh{TL, TV}"/> of two vectors, interleaved as <see cref="Sigmoid2{TL, TV}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh2<TL, TV>(TV x1, TV x2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV z1 = TL.Multiply(x1, x1);
        TV z2 = TL.Multiply(x2, x2);
        TV p1 = TL.FusedMultiplyAdd(TL.Create(-5.70498872745e-3f), z1, TL.Create(2.06390887954e-2f));
        TV p2 = TL.FusedMultiplyAdd(TL.Create(-5.70498872745e-3f), z2, TL.Create(2.06390887954e-2f));
        p1 = TL.FusedMultiplyAdd(p1, z1, TL.Create(-5.37397155531e-2f));
        p2 = TL.FusedMultiplyAdd(p2, z2, TL.Create(-5.37397155531e-2f));
        p1 = TL.FusedMultiplyAdd(p1, z1, TL.Create(1.33314422036e-1f));
        p2 = TL.FusedMultiplyAdd(p2, z2, TL.Create(1.33314422036e-1f));
        p1 = TL.FusedMultiplyAdd(p1, z1, TL.Create(-3.33332819422e-1f));
        p2 = TL.FusedMultiplyAdd(p2, z2, TL.Create(-3.33332819422e-1f));
        TV small1 = TL.FusedMultiplyAdd(TL.Multiply(p1, z1), x1, x1);
        TV small2 = TL.FusedMultiplyAdd(TL.Multiply(p2, z2), x2, x2);

        TV ax1 = TL.Abs(x1), ax2 = TL.Abs(x2);
        TV one = TL.Create(1f), two = TL.Create(2f), limit = TL.Create(ClampedExpTo), signBit = TL.Create(-0f), below = TL.Create(TanhPolynomialBelow);
        ExpClamped2<TL, TV>(TL.MinNative(TL.Add(ax1, ax1), limit), TL.MinNative(TL.Add(ax2, ax2), limit), out TV e1, out TV e2);
        TV large1 = TL.Subtract(one, TL.Divide(two, TL.Add(e1, one)));
        TV large2 = TL.Subtract(one, TL.Divide(two, TL.Add(e2, one)));
        large1 = TL.ConditionalSelect(signBit, x1, large1);
        large2 = TL.ConditionalSelect(signBit, x2, large2);
        y1 = TL.ConditionalSelect(TL.GreaterThanOrEqual(ax1, below), large1, small1);
        y2 = TL.ConditionalSelect(TL.GreaterThanOrEqual(ax2, below), large2, small2);
    }

    /// <summary><see cref="ExpClamped{TL, TV}"/> of two vectors, interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpClamped2<TL, TV>(TV x1, TV x2, out TV y1, out TV y2)
        where TL : struct, IFloatLanes<TV>
        where TV : struct
    {
        TV log2e = TL.Create(1.44269504088896341f), shift = TL.Create(RoundingShift);
        TV shifted1 = TL.FusedMultiplyAdd(x1, log2e, shift);
        TV shifted2 = TL.FusedMultiplyAdd(x2, log2e, shift);
        TV n1 = TL.Subtract(shifted1, shift);
        TV n2 = TL.Subtract(shifted2, shift);
        TV r1 = TL.FusedMultiplyAdd(n1, TL.Create(-0.693359375f), x1);
        TV r2 = TL.FusedMultiplyAdd(n2, TL.Create(-0.693359375f), x2);
        r1 = TL.FusedMultiplyAdd(n1, TL.Create(2.12194440e-4f), r1);
        r2 = TL.FusedMultiplyAdd(n2, TL.Create(2.12194440e-4f), r2);

        TV p1 = TL.FusedMultiplyAdd(TL.Create(1.9875691500e-4f), r1, TL.Create(1.3981999507e-3f));
        TV p2 = TL.FusedMultiplyAdd(TL.Create(1.9875691500e-4f), r2, TL.Create(1.3981999507e-3f));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(8.3334519073e-3f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(8.3334519073e-3f));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(4.1665795894e-2f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(4.1665795894e-2f));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(1.6666665459e-1f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(1.6666665459e-1f));
        p1 = TL.FusedMultiplyAdd(p1, r1, TL.Create(5.0000001201e-1f));
        p2 = TL.FusedMultiplyAdd(p2, r2, TL.Create(5.0000001201e-1f));
        TV one = TL.Create(1f);
        TV e1 = TL.FusedMultiplyAdd(p1, TL.Multiply(r1, r1), TL.Add(r1, one));
        TV e2 = TL.FusedMultiplyAdd(p2, TL.Multiply(r2, r2), TL.Add(r2, one));
        y1 = TL.Multiply(TL.Add(e1, e1), TL.Pow2Minus1OfShifted(shifted1));
        y2 = TL.Multiply(TL.Add(e2, e2), TL.Pow2Minus1OfShifted(shifted2));
    }

    /// <summary>max(x, 0), NaN for NaN (as torch.relu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Relu<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
        where TV : struct =>
        TL.ConditionalSelect(TL.Equals(x, x), TL.MaxNative(x, TL.Create(0f)), x);
}
