using System.Reflection;
using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The kernels run optimized from their first call (README, "Behaviour worth knowing"): the tiered JIT would otherwise
/// run their first hundreds of calls as unoptimized code, every lane operation a call. The hot methods carry
/// <see cref="MethodImplOptions.AggressiveOptimization"/>; the helpers they inline carry AggressiveInlining. A kernel kept
/// out of line on purpose (<see cref="MethodImplOptions.NoInlining"/>) is compiled on its own, so it must carry
/// AggressiveOptimization too: <c>VectorMath.LstmCell2</c>, too large for the JIT to inline, ran T1's calls 2 to ~100 at
/// 0.7 ms each (30× the steady time) while it lacked it (2026-11-30).
/// </summary>
public class KernelAttributesTests
{
    [Fact]
    public void KernelsKeptOutOfLine_AreCompiledOptimizedFromTheFirstCall()
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        MethodInfo[] outOfLine = [.. typeof(GateMath).Assembly.GetTypes()
            .Where(type => type.Namespace == typeof(GateMath).Namespace)
            .SelectMany(type => type.GetMethods(all))
            .Where(method => method.MethodImplementationFlags.HasFlag(MethodImplAttributes.NoInlining))];

        Assert.Contains(outOfLine, method => method.DeclaringType == typeof(VectorMath) && method.Name == nameof(VectorMath.LstmCell2));
        string[] unoptimized = [.. outOfLine
            .Where(method => !method.MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization))
            .Select(method => $"{method.DeclaringType!.Name}.{method.Name}")];
        Assert.True(unoptimized.Length == 0, $"kept out of line without AggressiveOptimization: {string.Join(", ", unoptimized)}");
    }
}
