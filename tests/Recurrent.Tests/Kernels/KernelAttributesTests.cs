using System.Reflection;
using System.Runtime.Intrinsics;
using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The kernels run optimized from their first call (README, "Behaviour worth knowing"): the tiered JIT would otherwise
/// run their first hundreds of calls as unoptimized code, every lane operation a call. The hot methods carry
/// <see cref="MethodImplOptions.AggressiveOptimization"/>; the helpers they inline carry AggressiveInlining. A kernel kept
/// out of line on purpose (<see cref="MethodImplOptions.NoInlining"/>) is compiled on its own, so it must carry
/// AggressiveOptimization too: <c>VectorMath.LstmCell2</c>, then kept out of line, ran T1's calls 2 to ~100 at 0.7 ms
/// each (30× the steady time) while it lacked it (2026-11-30). And a helper meant to be inlined must be one the JIT can
/// inline: it declines any method with more than 32 IL locals, AggressiveInlining or not (MAX_INL_LCLS in the JIT's
/// inline.h), and the declined helper is then compiled on its own, through the unoptimized first tier.
/// </summary>
public class KernelAttributesTests
{
    [Fact]
    public void KernelsKeptOutOfLine_AreCompiledOptimizedFromTheFirstCall()
    {
        MethodInfo[] outOfLine = KernelMethods(MethodImplAttributes.NoInlining);

        Assert.Contains(outOfLine, method => method.DeclaringType == typeof(GateMath) && method.Name == "LstmCellPairs");
        string[] unoptimized = [.. outOfLine
            .Where(method => !method.MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization))
            .Select(method => $"{method.DeclaringType!.Name}.{method.Name}")];
        Assert.True(unoptimized.Length == 0, $"kept out of line without AggressiveOptimization: {string.Join(", ", unoptimized)}");
    }

    /// <summary>The JIT's limit on an inlinee's IL locals (MAX_INL_LCLS, src/coreclr/jit/inline.h).</summary>
    private const int MaxInlineeLocals = 32;

    [Fact]
    public void KernelsMeantToBeInlined_HaveFewEnoughLocalsForTheJit()
    {
        MethodInfo[] inlined = KernelMethods(MethodImplAttributes.AggressiveInlining);

        // The largest of them, the LSTM cell's c' of two vectors, is among those checked (30 locals on 2026-11-30).
        Assert.Contains(inlined, method => method.DeclaringType == typeof(VectorMath) && method.Name == nameof(VectorMath.LstmCell2));
        string[] tooMany = [.. inlined
            .Where(method => method.GetMethodBody()!.LocalVariables.Count > MaxInlineeLocals)
            .Select(method => $"{method.DeclaringType!.Name}.{method.Name} ({method.GetMethodBody()!.LocalVariables.Count} locals)")];
        Assert.True(tooMany.Length == 0, $"more IL locals than the JIT inlines ({MaxInlineeLocals}): {string.Join(", ", tooMany)}");
    }

    /// <summary>
    /// The lane kernels' entry points that choose a width (a <c>LaneWidth? width</c> parameter) hold no vector of any width
    /// themselves: each width's body is a method of its own. Inlined there, the Vector512 body's vectors, emulated where
    /// Vector512 is not accelerated, gave LaneSteps.Lstm an 11 KB frame that every call of the Vector256 path probed and
    /// partly zeroed: 5 % of T1's time (Zen 3, 2026-11-30; T1 1.14× and T2 1.13× as fast once split).
    /// </summary>
    [Fact]
    public void LaneWidthChoosers_HoldNoVectorsOfTheirOwn()
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly;
        MethodInfo[] choosers = [.. typeof(LaneSteps).GetMethods(all)
            .Where(method => method.GetParameters().Any(parameter => parameter.Name == "width" && parameter.ParameterType == typeof(LaneWidth?)))];

        Assert.Equal(["Gru", "Lstm", "Product", "Rnn"], choosers.Select(method => method.Name).Order());
        string[] holding = [.. choosers
            .Where(method => method.GetMethodBody()!.LocalVariables.Any(local => IsVector(local.LocalType)))
            .Select(method => method.Name)];
        Assert.True(holding.Length == 0, $"width choosers with vector locals (a width's body inlined into them): {string.Join(", ", holding)}");
    }

    private static bool IsVector(Type type) =>
        type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Vector512<>) || type.GetGenericTypeDefinition() == typeof(Vector256<>) || type.GetGenericTypeDefinition() == typeof(Vector128<>));

    /// <summary>The methods of the kernels' namespace that carry <paramref name="flag"/>.</summary>
    private static MethodInfo[] KernelMethods(MethodImplAttributes flag)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        return [.. typeof(GateMath).Assembly.GetTypes()
            .Where(type => type.Namespace == typeof(GateMath).Namespace)
            .SelectMany(type => type.GetMethods(all))
            .Where(method => method.MethodImplementationFlags.HasFlag(flag))];
    }
}
