using System.Numerics;
using System.Runtime.CompilerServices;

namespace Recurrent.Kernels;

/// <summary>
/// The gate nonlinearities on <see cref="Vector{T}"/> lanes (the runtime's natural width: 256 bits on x64 with AVX2,
/// 128 on Arm and older x64, software lanes when SIMD is off). Each lane computes exactly the same arithmetic, so an
/// element's result does not depend on its lane or on which other elements share the vector.
/// </summary>
/// <remarks>
/// Accuracy (measured in the tests against double precision): sigmoid within 4 ulp (the rounding of 1 + e^−x and of the division; the formula TensorPrimitives uses), tanh
/// within 3 ulp; below the smallest normal float, absolute error under it, NaN in → NaN
/// out, ±∞ to the limits. e^x is the runtime's <see cref="Vector.Exp(Vector{float})"/> (the one TensorPrimitives uses).
/// </remarks>
internal static class VectorMath
{
    /// <summary>Below this |x| tanh uses its odd polynomial: 1 − 2/(e^2|x| + 1) would cancel too many bits.</summary>
    private const float TanhPolynomialBelow = 0.625f;

    /// <summary>σ(x) = 1 / (1 + e^−x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));

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
        Vector<float> e = Vector.Exp(ax + ax);
        Vector<float> large = Vector<float>.One - (new Vector<float>(2f) / (e + Vector<float>.One));
        large = Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), -large, large);

        // NaN compares false, so it takes the large branch, where e^NaN keeps it NaN.
        return Vector.ConditionalSelect(Vector.LessThan(ax, new Vector<float>(TanhPolynomialBelow)), small, large);
    }

    /// <summary>max(x, 0), NaN for NaN (as torch.relu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Relu(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.Equals(x, x), Vector.Max(x, Vector<float>.Zero), x);
}
