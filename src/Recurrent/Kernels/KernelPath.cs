namespace Recurrent.Kernels;

/// <summary>
/// The SIMD width a kernel is written for. Every path computes the same function; they differ only in speed and in
/// the rounding of intermediate sums (each path is deterministic on its own).
/// </summary>
internal enum KernelPath
{
    /// <summary>Plain scalar loops; the portable fallback and the easiest to audit.</summary>
    Scalar,

    /// <summary>128-bit vectors (SSE, AdvSimd/NEON).</summary>
    Vector128,

    /// <summary>256-bit vectors (AVX2 + FMA).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512F).</summary>
    Vector512,
}
