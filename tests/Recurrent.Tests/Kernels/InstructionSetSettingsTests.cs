using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The runtime settings that .ci/run uses to run the suite on each narrower SIMD path must take effect, or that run
/// tests the widest path again and reports it as the narrower one. On .NET 10, DOTNET_EnableAVX512F=0 alone no longer
/// turns AVX-512 off (the runtime reads DOTNET_EnableAVX512): found on the first AVX-512 machine after the move to it.
/// </summary>
public class InstructionSetSettingsTests
{
    [Fact]
    public void DisabledInstructionSets_AreOffForTheKernels()
    {
        bool avx512Off = IsZero("DOTNET_EnableAVX512F") || IsZero("DOTNET_EnableAVX512");
        bool avxOff = IsZero("DOTNET_EnableAVX");
        bool allOff = IsZero("DOTNET_EnableHWIntrinsic");
        if (avx512Off || avxOff || allOff)
        {
            Assert.False(Vector512.IsHardwareAccelerated || Avx512F.IsSupported,
                "AVX-512 is still on although the environment turns it off: on .NET 10 set DOTNET_EnableAVX512=0");
            Assert.NotEqual(KernelPath.Vector512, Gemm.BestPath);
            Assert.NotEqual(LaneWidth.Vector512, LaneSteps.Width);
        }

        if (avxOff || allOff)
        {
            Assert.False(Vector256.IsHardwareAccelerated, "AVX is still on although the environment turns it off");
            Assert.Equal(allOff ? KernelPath.Scalar : KernelPath.Vector128, Gemm.BestPath);
        }

        // Without any of these settings the widest path the runtime accelerates is the one the kernels take.
        KernelPath widest = Vector512.IsHardwareAccelerated ? KernelPath.Vector512
            : Vector256.IsHardwareAccelerated ? KernelPath.Vector256
            : Vector128.IsHardwareAccelerated ? KernelPath.Vector128
            : KernelPath.Scalar;
        Assert.Equal(widest, Gemm.BestPath);
    }

    private static bool IsZero(string name) => Environment.GetEnvironmentVariable(name) == "0";
}
