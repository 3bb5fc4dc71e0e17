using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// A theory over code that issues one instruction set's intrinsics directly (no software fallback), so it can run only
/// where the processor has that set and the runtime has it enabled. Elsewhere the test runner reports it as skipped,
/// with the reason, rather than as a pass that checked nothing. (The kernel paths built on Vector128/256/512 are not
/// among these: the runtime emulates those widths, so their tests run everywhere.)
/// </summary>
public sealed class Avx512TheoryAttribute : TheoryAttribute
{
    public Avx512TheoryAttribute()
    {
        if (!Avx512F.IsSupported)
        {
            Skip = "needs AVX-512F, which this machine (or DOTNET_EnableAVX512=0) does not give the runtime";
        }
    }
}

/// <inheritdoc cref="Avx512TheoryAttribute"/>
public sealed class AvxTheoryAttribute : TheoryAttribute
{
    public AvxTheoryAttribute()
    {
        if (!Avx.IsSupported)
        {
            Skip = "needs AVX, which this machine (or DOTNET_EnableHWIntrinsic=0) does not give the runtime";
        }
    }
}
