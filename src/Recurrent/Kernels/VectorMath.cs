using System.Numerics;
using System.Runtime.CompilerServices;

namespace Recurrent.Kernels;

/// <summary>
/// The gate nonlinearities on <see cref="Vector{T}"/> lanes (the runtime's natural width: 256 bits on x64 with AVX2,
/// 128 on Arm and older x64, software lanes when SIMD is off). Each lane computes exactly the same arithmetic, so an
/// element's result does not depend on its lane or on which other elements share the vector.
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

    /// <summary>
    /// σ(x) = 1 / (1 + e^−x). For x &gt; 86 the true e^−x is below 2.4e-38, so 1 + e^−x rounds to 1 whether it is taken
    /// at −x or at the clamp −86; for x &lt; −88.8 e^−x is +∞ and σ is 0, within 3e-39 of the true value (a denormal).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Sigmoid(Vector<float> x)
    {
        Vector<float> clamped = Vector.MinNative(Vector.MaxNative(-x, new Vector<float>(ClampedExpFrom)), new Vector<float>(ClampedExpTo));
        Vector<float> result = Vector<float>.One / (Vector<float>.One + ExpClamped(clamped));
        return Vector.ConditionalSelect(Vector.Equals(x, x), result, x);
    }

    /// <summary>
    /// e^x for x in [<see cref="ClampedExpFrom"/>, <see cref="ClampedExpTo"/>] (not NaN): the same reduction and
    /// polynomial as <see cref="Exp"/>, but 2^n is applied as 2^(n − 1) · 2, which is exact over the whole range (n runs
    /// from −124 to 128), so no second scale factor and no end-of-range fix-ups are needed; e^x ≥ 2^128 becomes +∞.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpClamped(Vector<float> x)
    {
        Vector<float> n = Vector.Round(x * new Vector<float>(1.44269504088896341f));
        Vector<float> y = ExpReduced(x, n);
        Vector<float> scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32Native(n) + new Vector<int>(126), 23));
        return (y + y) * scale;
    }

    /// <summary>e^r for r = x − n·ln 2 (|r| ≤ ln 2 / 2), with ln 2 split in two parts so that r is exact: Cephes' degree-6 polynomial.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpReduced(Vector<float> x, Vector<float> n)
    {
        Vector<float> r = Vector.FusedMultiplyAdd(n, new Vector<float>(-0.693359375f), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(2.12194440e-4f), r);

        Vector<float> p = Vector.FusedMultiplyAdd(new Vector<float>(1.9875691500e-4f), r, new Vector<float>(1.3981999507e-3f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(8.3334519073e-3f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(4.1665795894e-2f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1.6666665459e-1f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(5.0000001201e-1f));
        return Vector.FusedMultiplyAdd(p, r * r, r + Vector<float>.One);
    }

    /// <summary>
    /// e^x in single precision (Cephes' expf): x = n·ln 2 + r with n = round(x·log2 e) and |r| ≤ ln 2 / 2 (ln 2 split in
    /// two parts so r is exact), e^r by a degree-6 polynomial, then scaled by 2^n in two halves so that results near the
    /// overflow and denormal ends are right. Float arithmetic throughout (the runtime's <see cref="Vector.Exp(Vector{float})"/>
    /// widens to double, at twice the cost).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        Vector<float> clamped = Vector.MinNative(Vector.MaxNative(x, new Vector<float>(ExpUnderflowBelow)), new Vector<float>(ExpOverflowAbove));
        Vector<float> n = Vector.Round(clamped * new Vector<float>(1.44269504088896341f));
        Vector<float> y = ExpReduced(clamped, n);

        // 2^n as two factors 2^(n/2) and 2^(n − n/2), each a normal float for n in [−150, 128].
        Vector<int> exponent = Vector.ConvertToInt32(n);
        Vector<int> half = Vector.ShiftRightArithmetic(exponent, 1);
        Vector<float> scaleA = Vector.AsVectorSingle(Vector.ShiftLeft(half + new Vector<int>(127), 23));
        Vector<float> scaleB = Vector.AsVectorSingle(Vector.ShiftLeft(exponent - half + new Vector<int>(127), 23));
        Vector<float> result = y * scaleA * scaleB;

        result = Vector.ConditionalSelect(Vector.GreaterThan(x, new Vector<float>(ExpOverflowAbove)), new Vector<float>(float.PositiveInfinity), result);
        result = Vector.ConditionalSelect(Vector.LessThan(x, new Vector<float>(ExpUnderflowBelow)), Vector<float>.Zero, result);
        return Vector.ConditionalSelect(Vector.Equals(x, x), result, x);
    }

    /// <summary>
    /// tanh(x): for |x| &lt; 0.625, x + x·z·P(z) with z = x² (Cephes' tanhf minimax polynomial, relative error ≈ 1e-7);
    /// otherwise sign(x)·(1 − 2/(e^2|x| + 1)), which reaches ±1 exactly once e^2|x| overflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Tanh(Vector<float> x)
    {
        Vector<float> z = x * x;
        Vector<float> p = Vector.FusedMultiplyAdd(new Vector<float>(-5.70498872745e-3f), z, new Vector<float>(2.06390887954e-2f));
        p = Vector.FusedMultiplyAdd(p, z, new Vector<float>(-5.37397155531e-2f));
        p = Vector.FusedMultiplyAdd(p, z, new Vector<float>(1.33314422036e-1f));
        p = Vector.FusedMultiplyAdd(p, z, new Vector<float>(-3.33332819422e-1f));
        Vector<float> small = Vector.FusedMultiplyAdd(p * z, x, x);

        Vector<float> ax = Vector.Abs(x);
        Vector<float> e = ExpClamped(Vector.MinNative(ax + ax, new Vector<float>(ClampedExpTo)));
        Vector<float> large = Vector<float>.One - (new Vector<float>(2f) / (e + Vector<float>.One));
        large = Vector.ConditionalSelect(new Vector<float>(-0f), x, large); // large ≥ 0: give it x's sign bit

        // NaN compares false, so it takes the polynomial branch, which keeps it NaN.
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(ax, new Vector<float>(TanhPolynomialBelow)), large, small);
    }

    /// <summary>max(x, 0), NaN for NaN (as torch.relu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Relu(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.Equals(x, x), Vector.MaxNative(x, Vector<float>.Zero), x);
}
