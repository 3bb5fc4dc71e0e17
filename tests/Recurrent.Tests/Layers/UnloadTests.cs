using System.Numerics.Tensors;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace Recurrent.Tests.Layers;

/// <summary>A host that loads the library into a collectible context (a plugin) can unload it after calls on two threads:
/// the helper threads end with the context, rather than holding it in memory for good.</summary>
/// <remarks>Alone (no test runs beside it): its second copy of the library must not load while
/// <see cref="Kernels.FirstCallTierTests"/> watches the JIT for the one copy it loads from the same path.</remarks>
[Collection(HelperThreadsCollection.Name)]
public class UnloadTests
{
    [Fact]
    public void CollectibleContext_AfterCallsOnTwoThreads_Unloads()
    {
        WeakReference context = CallOnTwoThreadsThenUnload();
        for (int i = 0; i < 100 && context.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Thread.Sleep(10); // the helper's loop ends on its own thread
        }

        Assert.False(context.IsAlive, "the unloaded context is still alive: a helper thread of its library still runs");
    }

    /// <summary>Everything that references the context stays in this frame, so that only the context's own threads
    /// can keep it alive after it returns.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CallOnTwoThreadsThenUnload()
    {
        var context = new AssemblyLoadContext("plugin Recurrent", isCollectible: true);
        Assembly plugin = context.LoadFromAssemblyPath(typeof(RecurrentLayer).Assembly.Location);
        Type lstmType = plugin.GetType(typeof(Lstm).FullName!, throwOnError: true)!;

        // LSTM 64 → 256 at batch 1: W_hh is 1 MiB, so two threads split its time loop by hidden units.
        object lstm = Activator.CreateInstance(lstmType, 64, 256, 1, true, false, 0.0, false, 0, (int?)1)!;
        lstmType.GetProperty(nameof(RecurrentLayer.MaxDegreeOfParallelism))!.SetValue(lstm, 2);
        MethodInfo forward = lstmType.GetMethod(nameof(Lstm.Forward), [typeof(Tensor<float>)])!;
        for (int call = 0; call < 3; call++)
        {
            forward.Invoke(lstm, [Tensor.CreateFromShape<float>([40, 1, 64])]);
        }

        Type helpers = plugin.GetType("Recurrent.Execution.HelperThreads", throwOnError: true)!;
        int created = (int)helpers.GetField("s_created", BindingFlags.Static | BindingFlags.NonPublic)!.GetValue(null)!;
        Assert.True(created >= 1, "the calls created no helper thread, so this test would prove nothing");

        context.Unload();
        return new WeakReference(context);
    }
}
