using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// Whether the hardware fuses a multiply and an add into one instruction (x64 with FMA, which every x64 CPU with AVX2
/// has; every Arm64 CPU). Where it does, the kernels' chains are fused multiply-adds, rounded once. Where it does not
/// (x64 CPUs before AVX2, a NativeAOT build for the default x64 target, hardware intrinsics turned off), the runtime
/// emulates each fused multiply-add in software, element by element: the layers ran 100 to 200 times slower that way
/// (Zen 3 with <c>DOTNET_EnableAVX=0</c>, 2026-11-30: T1 3.3 ms a call, S1 469 ms). There the Vector128 products and the
/// gate math at every width multiply, then add (two roundings, as the scalar products always do): T1 0.125 ms, S1
/// 7.3 ms. Their last bits differ from the fused results. So do the lane kernels' products on Vector128 (LaneSteps);
/// on Vector256 and Vector512 they always fuse: they run there only where that width is accelerated, which on x64 comes
/// with FMA.
/// </summary>
/// <remarks>A constant to the JIT, which removes the branch on it from the compiled kernels; not to NativeAOT, so the
/// products ask once per tile (Gemm.Vector128.cs).</remarks>
internal static class FusedMultiplyAdds
{
    /// <summary>Whether fused multiply-adds run as instructions (and the kernels use them).</summary>
    public static bool InHardware => Fma.IsSupported || AdvSimd.IsSupported;
}

/// <summary>acc + v·w on Vector128 as a kernel instantiated for one of the two below computes it; the caller picks by
/// <see cref="FusedMultiplyAdds.InHardware"/> once, outside its loops.</summary>
internal interface IMultiplyAdd128
{
    static abstract Vector128<float> Apply(Vector128<float> v, Vector128<float> w, Vector128<float> acc);
}

#pragma warning disable CA1812 // used only as type arguments
/// <summary>One rounding: where the hardware fuses (<see cref="FusedMultiplyAdds.InHardware"/>).</summary>
internal readonly struct Fused128 : IMultiplyAdd128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Apply(Vector128<float> v, Vector128<float> w, Vector128<float> acc) => Vector128.FusedMultiplyAdd(v, w, acc);
}

/// <summary>A multiply, then an add: where the hardware does not fuse.</summary>
internal readonly struct Unfused128 : IMultiplyAdd128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Apply(Vector128<float> v, Vector128<float> w, Vector128<float> acc) => (v * w) + acc;
}
#pragma warning restore CA1812
