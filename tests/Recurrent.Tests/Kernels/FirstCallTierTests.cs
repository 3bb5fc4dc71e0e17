using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Numerics.Tensors;
using System.Reflection;
using System.Runtime.Intrinsics;
using System.Runtime.Loader;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The gate arithmetic runs optimized from its first call (README, "Behaviour worth knowing"), checked on the JIT itself.
/// A fresh copy of the library, loaded into a load context of its own so that none of its code is compiled yet, runs
/// forward passes of every cell (in lanes, in rows, at batch 1, stacked and bidirectional, and the one-step cells) while
/// a listener records each method the JIT compiles and at which tier. No method of the lane-arithmetic structs
/// (<c>Lanes256</c>, <c>Lanes512</c>, <c>NaturalLanes</c>) or of <c>VectorMath</c> may be compiled as the runtime's quick
/// unoptimized code: any such compilation means some gate or kernel code runs unoptimized, one call per lane operation.
/// <see cref="KernelAttributesTests"/> checks the attributes that prevent it; this test catches what attributes cannot
/// show, such as an AggressiveInlining helper the JIT declines to inline (2026-11-30: a memory form of the LSTM cell
/// math, left out of line, ran through the quick tier and its instrumented tier before being optimized).
/// </summary>
public class FirstCallTierTests
{
    /// <summary>The lane-arithmetic types: unoptimized code doing gate math calls their methods.</summary>
    private static readonly string[] s_laneArithmetic =
        ["Recurrent.Kernels.Lanes256", "Recurrent.Kernels.Lanes512", "Recurrent.Kernels.NaturalLanes", "Recurrent.Kernels.VectorMath"];

    [VectorsAcceleratedFact]
    public void GateArithmetic_IsNeverCompiledUnoptimized()
    {
        using var listener = new JitListener();

        // Not collectible: the runtime does not tier code in collectible contexts, so that would hide what this checks.
        var context = new AssemblyLoadContext(nameof(FirstCallTierTests), isCollectible: false);
        Assembly fresh = context.LoadFromAssemblyPath(typeof(Lstm).Assembly.Location);
        object tanh = Enum.ToObject(fresh.GetType("Recurrent.Nonlinearity")!, (int)Nonlinearity.Tanh);
        object relu = Enum.ToObject(fresh.GetType("Recurrent.Nonlinearity")!, (int)Nonlinearity.Relu);

        // Lanes (batch 64, few units), rows (batch 4, 64 units), the batch-1 row kernels; stacked and bidirectional.
        object lstm = Create(fresh, "Lstm", 10, 5, 1, true, false, 0.0, false, 0, 1);
        object stacked = Create(fresh, "Lstm", 64, 64, 2, true, false, 0.0, true, 0, 1);
        object laneGru = Create(fresh, "Gru", 10, 5, 1, true, false, 0.0, false, 1);
        object gru = Create(fresh, "Gru", 64, 64, 1, true, false, 0.0, false, 1);
        object rnn = Create(fresh, "Rnn", 20, 10, 2, tanh, true, false, 0.0, true, 1);
        object wideRnn = Create(fresh, "Rnn", 64, 64, 1, relu, true, false, 0.0, false, 1);
        for (int call = 0; call < 3; call++)
        {
            Forward(lstm, [12, 64, 10]);
            Forward(stacked, [20, 4, 64]);
            Forward(stacked, [20, 1, 64]);
            Forward(laneGru, [12, 64, 10]);
            Forward(gru, [12, 4, 64]);
            Forward(gru, [12, 1, 64]);
            Forward(rnn, [5, 64, 20]);
            Forward(wideRnn, [12, 4, 64]);
            Forward(wideRnn, [12, 1, 64]);
            Forward(Create(fresh, "LstmCell", 16, 16, true, 1), [4, 16]);
            Forward(Create(fresh, "GruCell", 16, 16, true, 1), [4, 16]);
            Forward(Create(fresh, "RnnCell", 16, 16, true, tanh, 1), [4, 16]);
        }

        List<JitListener.Compilation> compiled = listener.CompilationsOf(fresh);
        Assert.Contains(compiled, c => c.Type.StartsWith("Recurrent.Kernels.", StringComparison.Ordinal) && c.Tier == JitListener.Optimized);
        string[] unoptimized = [.. compiled
            .Where(c => s_laneArithmetic.Contains(c.Type) && c.Tier is not (JitListener.Optimized or JitListener.OptimizedTier1))
            .Select(c => $"{c.Type}.{c.Name} (tier {c.Tier})")
            .Distinct()];
        Assert.True(unoptimized.Length == 0, $"compiled unoptimized: {string.Join(", ", unoptimized)}");
    }

    private static object Create(Assembly assembly, string type, params object?[] arguments) =>
        Activator.CreateInstance(assembly.GetType("Recurrent." + type)!, arguments)!;

    /// <summary>The layer's or cell's Forward(input, optional arguments left out) on zeros of <paramref name="shape"/>.</summary>
    private static void Forward(object module, nint[] shape)
    {
        MethodInfo forward = module.GetType().GetMethods().First(method =>
            method.Name == "Forward" && method.GetParameters() is [{ ParameterType: var input }, .. var rest] &&
            input == typeof(Tensor<float>) && rest.All(parameter => parameter.IsOptional));
        int length = (int)shape.Aggregate((a, b) => a * b);
        forward.Invoke(module, [Tensor.Create(new float[length], shape), .. forward.GetParameters().Skip(1).Select(_ => Type.Missing)]);
    }

    /// <summary>
    /// The runtime's JIT and loader events (in-process, through its event source): each compiled method with its module
    /// and tier, and each module loaded while listening. Events arrive on another thread, a little after the fact.
    /// </summary>
    private sealed class JitListener : EventListener
    {
        /// <summary>The tier in a method-load event's flags, bits 7–9 (the runtime's JitOptimizationTier): fully optimized
        /// (AggressiveOptimization, or tiering off) and the optimized tier that replaces quick code.</summary>
        public const int Optimized = 2, OptimizedTier1 = 4;

        private const int TierShift = 7, TierMask = 0x7;

        /// <summary>The JIT (0x10) and loader (0x8) keywords of the runtime's provider.</summary>
        private const EventKeywords JitAndLoader = (EventKeywords)0x18;

        private readonly ConcurrentQueue<(ulong Module, Compilation Method)> _compilations = new();
        private readonly ConcurrentDictionary<ulong, string> _modules = new();

        public readonly record struct Compilation(string Type, string Name, int Tier);

        /// <summary>The compilations of the one module loaded from <paramref name="assembly"/>'s path while listening,
        /// once no new event has arrived for half a second.</summary>
        public List<Compilation> CompilationsOf(Assembly assembly)
        {
            var settled = Stopwatch.StartNew();
            int seen = -1;
            while (seen != _compilations.Count + _modules.Count && settled.Elapsed < TimeSpan.FromSeconds(20))
            {
                seen = _compilations.Count + _modules.Count;
                Thread.Sleep(500);
            }

            ulong module = Assert.Single(_modules, entry => entry.Value == assembly.Location).Key;
            return [.. _compilations.Where(entry => entry.Module == module).Select(entry => entry.Method)];
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, JitAndLoader);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            string name = eventData.EventName ?? "";
            if (name.StartsWith("ModuleLoad", StringComparison.Ordinal))
            {
                _modules[Convert.ToUInt64(Field(eventData, "ModuleID"))] = (string)Field(eventData, "ModuleILPath");
            }
            else if (name.StartsWith("MethodLoadVerbose", StringComparison.Ordinal))
            {
                uint flags = Convert.ToUInt32(Field(eventData, "MethodFlags"));
                _compilations.Enqueue((
                    Convert.ToUInt64(Field(eventData, "ModuleID")),
                    new Compilation((string)Field(eventData, "MethodNamespace"), (string)Field(eventData, "MethodName"), (int)(flags >> TierShift) & TierMask)));
            }
        }

        private static object Field(EventWrittenEventArgs eventData, string name) =>
            eventData.Payload![eventData.PayloadNames!.IndexOf(name)]!;
    }
}

/// <summary>
/// A test of the vector paths' compiled code, which only exists where the runtime accelerates vectors. Without (the
/// scalar path, <c>DOTNET_EnableHWIntrinsic=0</c>) every lane operation is a software routine, and the JIT declines to
/// inline parts of the gate math built on them (measured 2026-11-30: sigmoid·tanh, tanh of pairs and their exponential
/// steps, compiled at the quick tier first); the runner reports the test as skipped there, with this reason.
/// </summary>
public sealed class VectorsAcceleratedFactAttribute : FactAttribute
{
    public VectorsAcceleratedFactAttribute()
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            Skip = "checks the compiled vector paths; with no accelerated vectors (DOTNET_EnableHWIntrinsic=0) the JIT " +
                "declines to inline parts of the software-emulated gate math";
        }
    }
}
