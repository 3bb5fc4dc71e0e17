using System.Diagnostics;
using System.Numerics.Tensors;
using System.Reflection;
using System.Runtime.Loader;
using Recurrent.Execution;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// MaxDegreeOfParallelism changes who computes, never what: every degree gives the single-threaded bits. The shapes
/// are large enough that both phases of a block (input product, time loop) pass <see cref="DirectionPass.MinParallelFlops"/>
/// and really run in parts, with batches that do not split evenly.
/// </summary>
[Collection(HelperThreadsCollection.Name)]
public class ParallelismTests
{
    public static TheoryData<CellType, bool, int, int, bool> Configurations() => new()
    {
        // cell, bidirectional, layers, projection, batch-first
        { CellType.Lstm, false, 1, 0, false },
        { CellType.Lstm, true, 2, 0, true },
        { CellType.Lstm, true, 2, 23, false },
        { CellType.Gru, false, 2, 0, false },
        { CellType.Gru, true, 1, 0, true },
        { CellType.Rnn, true, 3, 0, false },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Forward_AnyDegree_BitIdenticalToOneThread(CellType cell, bool bidirectional, int layers, int projSize, bool batchFirst)
    {
        RecurrentLayer layer = Create(cell, bidirectional, layers, projSize, batchFirst);
        Tensor<float> x = batchFirst ? Randn(7, 37, 29, 70) : Randn(7, 29, 37, 70);
        Tensor<float> h0 = Randn(8, layer.Bidirectional ? 2 * layers : layers, 37, projSize > 0 ? projSize : 100);
        Tensor<float> c0 = Randn(9, layer.Bidirectional ? 2 * layers : layers, 37, 100);

        float[][] serial = LayerResults.Forward(layer, x, h0, c0);
        foreach (int degree in new[] { 2, 3, 5 })
        {
            layer.MaxDegreeOfParallelism = degree;
            long pairedBefore = DirectionPair.PairedLayers;
            float[][] parallel = LayerResults.Forward(layer, x, h0, c0);
            if (degree == 2 && bidirectional)
            {
                // Two threads, two directions: they run side by side (this class runs alone, so the helper is free).
                Assert.True(DirectionPair.PairedLayers >= pairedBefore + layers, "the directions did not run side by side");
            }

            LayerResults.AssertBitIdentical(serial, parallel, $"degree {degree} against one thread");
        }
    }

    [Fact]
    public void SmallBidirectionalLayerInLanes_ThreeThreads_PairsTheDirections()
    {
        // GRU 10 → 10, 2 layers, N = 64, 12 steps: 0.92 and 1.38 MFLOP a direction. Where a layer in lanes is too small
        // to split its vectors of sequences (DirectionPass.MinLaneSplitFlops: Vector512 lanes), three threads pair its
        // directions as two do, rather than hold two helpers and run on one thread. On a 2-processor machine the call
        // gets one helper and pairs either way; .ci/run's DOTNET_PROCESSOR_COUNT=4 pass gives it two.
        var gru = new Gru(10, 10, numLayers: 2, bidirectional: true, seed: 10).Eval();
        Tensor<float> x = Randn(46, 12, 64, 10);
        var config = LayerConfig.Create(new RecurrentLayerOptions { CellType = CellType.Gru, InputSize = 10, HiddenSize = 10, NumLayers = 2, Bidirectional = true });
        bool tooSmallToSplit = DirectionPass.RunsInLanes(config, 64) && 2.0 * 12 * 64 * 30 * (20 + 10) < DirectionPass.MinLaneSplitFlops;
        float[][] serial = LayerResults.Forward(gru, x, null, null);
        gru.MaxDegreeOfParallelism = 3;
        long pairedBefore = DirectionPair.PairedLayers;
        float[][] parallel = LayerResults.Forward(gru, x, null, null);
        if (Environment.ProcessorCount <= 2 || tooSmallToSplit)
        {
            Assert.True(DirectionPair.PairedLayers >= pairedBefore + 2, "the directions did not run side by side");
        }

        LayerResults.AssertBitIdentical(serial, parallel, "three threads against one");
    }

    [Theory]
    [InlineData(CellType.Lstm, true)]
    [InlineData(CellType.Gru, false)]
    [InlineData(CellType.Rnn, true)]
    public void PackedForward_UnevenLengths_BitIdenticalToOneThread(CellType cell, bool bidirectional)
    {
        RecurrentLayer layer = Create(cell, bidirectional, layers: 2, projSize: 0, batchFirst: false);
        var lengths = new int[] { 3, 40, 1, 17, 40, 22, 9, 31, 5, 12, 38, 2, 27, 14, 33, 8, 19, 25, 36, 6, 11 };
        Tensor<float> padded = Randn(3, 40, lengths.Length, 70);
        PackedSequence packed = RnnUtils.PackPaddedSequence(padded, lengths, enforceSorted: false);

        float[][] serial = LayerResults.Forward(layer, packed);
        layer.MaxDegreeOfParallelism = 2;
        float[][] parallel = LayerResults.Forward(layer, packed);
        LayerResults.AssertBitIdentical(serial, parallel, "two threads against one");
    }

    public static TheoryData<CellType, int, bool> SmallBatches() => new()
    {
        // cell, batch, bidirectional (hidden 416 = 13 panels: the parts get 6 and 7 panels, or 4, 4, 5; even the RNN's
        // W_hh, 676 KiB, is large enough to split)
        { CellType.Lstm, 1, false },
        { CellType.Lstm, 3, true },
        { CellType.Gru, 1, true },
        { CellType.Gru, 5, false },
        { CellType.Rnn, 2, true },
        { CellType.Rnn, 3, false }, // at batch 1 an RNN step of H = 416 (346 kFLOP) is too small to split
    };

    /// <summary>Small batches split the hidden units across threads that meet once per step (bidirectional ones may
    /// run their directions side by side instead).</summary>
    [Theory]
    [MemberData(nameof(SmallBatches))]
    public void Forward_SmallBatchSplitByUnits_BitIdenticalToOneThread(CellType cell, int batch, bool bidirectional)
    {
        RecurrentLayer layer = RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = cell, InputSize = 40, HiddenSize = 416, NumLayers = 2, Bidirectional = bidirectional, Seed = 9,
        }).Eval();
        int states = (bidirectional ? 2 : 1) * 2;
        Tensor<float> x = Randn(1, 41, batch, 40), h0 = Randn(2, states, batch, 416), c0 = Randn(3, states, batch, 416);
        float[][] serial = LayerResults.Forward(layer, x, h0, c0);
        foreach (int degree in new[] { 2, 3 })
        {
            layer.MaxDegreeOfParallelism = degree;
            long before = DirectionPass.UnitSplitPhases, pairedBefore = DirectionPair.PairedLayers;
            float[][] parallel = LayerResults.Forward(layer, x, h0, c0);

            // A bidirectional layer on two threads runs its directions side by side instead.
            Assert.True(
                DirectionPass.UnitSplitPhases > before || (bidirectional && DirectionPair.PairedLayers > pairedBefore),
                "the time loop did not run split by units (nor, bidirectional, by direction)");
            LayerResults.AssertBitIdentical(serial, parallel, $"degree {degree} against one thread");
        }
    }

    [Fact]
    public void PackedForward_SmallBatchSplitByUnits_BitIdenticalToOneThread()
    {
        var lstm = new Lstm(40, 256, numLayers: 2, seed: 4).Eval(); // W_hh 1 MiB: large enough to split at batch 4
        Tensor<float> padded = Randn(5, 70, 4, 40);
        PackedSequence packed = RnnUtils.PackPaddedSequence(padded, [31, 70, 2, 55], enforceSorted: false);
        float[][] serial = LayerResults.Forward(lstm, packed);
        lstm.MaxDegreeOfParallelism = 2;
        long before = DirectionPass.UnitSplitPhases;
        float[][] parallel = LayerResults.Forward(lstm, packed);
        Assert.True(DirectionPass.UnitSplitPhases > before, "the time loop did not run split by units");
        LayerResults.AssertBitIdentical(serial, parallel, "two threads against one");
    }

    /// <summary>Streaming one step per call on two threads: each call's step, one product over the joined weights, splits the units.</summary>
    [Fact]
    public void Step_OneStepPerCallOnTwoThreads_BitIdenticalToForward()
    {
        var lstm = new Lstm(256, 256, numLayers: 2, seed: 6).Eval();
        Tensor<float> x = Randn(4, 12, 1, 256);
        var (expected, (expectedH, expectedC)) = lstm.Forward(x);

        lstm.MaxDegreeOfParallelism = 2;
        RecurrentState state = lstm.CreateState(batchSize: 1);
        var output = new float[12 * 256];
        long before = DirectionPass.UnitSplitPhases, joinedBefore = DirectionPass.JoinedSteps;
        for (int t = 0; t < 12; t++)
        {
            var step = new ReadOnlyTensorSpan<float>(ToArray(x).AsSpan(t * 256, 256), [1, 1, 256], default);
            lstm.Step(step, state, new TensorSpan<float>(output.AsSpan(t * 256, 256), [1, 1, 256], default));
        }

        // Each call's step: one product over [W_ih | W_hh], its panels split by units between the threads.
        Assert.True(DirectionPass.UnitSplitPhases > before, "the steps did not run split by units");
        Assert.True(DirectionPass.JoinedSteps - joinedBefore >= 2 * 12, "the steps did not run as joined products");
        Assert.True(ToArray(expected).SequenceEqual(output), "streamed output differs from Forward");
        Assert.True(ToArray(expectedH).SequenceEqual(ToArray(state.Hidden)), "h differs from Forward");
        Assert.True(ToArray(expectedC).SequenceEqual(ToArray(state.Cell!)), "c differs from Forward");
    }

    [Fact]
    public void StepBarrier_BrokenByAFailedPart_ReleasesWaiters()
    {
        var barrier = new StepBarrier();
        barrier.Reset();
        var waiter = Task.Run(() => barrier.SignalAndWait(2));
        Thread.Sleep(20);
        barrier.Break();
        Assert.Throws<BarrierBrokenException>(() => waiter.GetAwaiter().GetResult());
    }

    /// <summary>Parts that fall behind make the others block (not only spin); every part still passes step s only after
    /// all have finished it.</summary>
    [Fact]
    public async Task StepBarrier_PartsThatBlock_StayInLockstep()
    {
        const int parts = 3, steps = 60;
        var barrier = new StepBarrier();
        barrier.Reset();
        int[] finished = new int[steps];
        int[] seenAfter = new int[parts * steps];
        Task[] tasks = Enumerable.Range(0, parts).Select(p => Task.Factory.StartNew(
            () =>
            {
                for (int s = 0; s < steps; s++)
                {
                    if ((s + p) % 7 == 0)
                    {
                        Thread.Sleep(2); // far past the others' spin: they block
                    }

                    Interlocked.Increment(ref finished[s]);
                    barrier.SignalAndWait(parts);
                    seenAfter[(p * steps) + s] = Volatile.Read(ref finished[s]);
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60)); // a TimeoutException if a part never left
        Assert.All(seenAfter, seen => Assert.Equal(parts, seen));
        Assert.True(barrier.BlockedWaits > 0, "no wait blocked, so the blocking path went untested");
    }

    /// <summary>An interrupt while blocked at the barrier does not end the wait (the other parts count on this one); it is
    /// raised at the thread's next blocking call.</summary>
    [Fact]
    public void StepBarrier_InterruptWhileBlocked_WaitsThenRaisesInterrupt()
    {
        var barrier = new StepBarrier();
        barrier.Reset();
        bool interruptRaisedAfterwards = false;
        Exception? error = null;
        var waiter = new Thread(() =>
        {
            try
            {
                barrier.SignalAndWait(2);
                try
                {
                    Thread.Sleep(10_000);
                }
                catch (ThreadInterruptedException)
                {
                    interruptRaisedAfterwards = true;
                }
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        waiter.Start();
        var blocked = Stopwatch.StartNew();
        while (barrier.BlockedWaiters == 0)
        {
            Assert.True(blocked.Elapsed < TimeSpan.FromSeconds(30), "the waiter never blocked");
            Thread.Sleep(1);
        }

        waiter.Interrupt();
        Thread.Sleep(20);
        Assert.True(waiter.IsAlive, "the interrupt ended the wait before the other part arrived");
        barrier.SignalAndWait(2);
        Assert.True(waiter.Join(TimeSpan.FromSeconds(30)), "the waiter was not released");
        Assert.Null(error);
        Assert.True(interruptRaisedAfterwards, "the held-back interrupt was lost");
    }

    [Fact]
    public void HelperThreads_HelperPartFailsWhileCallerWaitsAtBarrier_RealExceptionSurfaces()
    {
        var helpers = new HelperThreads?[1];
        int rented = HelperThreads.Rent(helpers);
        try
        {
            Assert.Equal(1, rented);
            var work = new BarrierWork();
            var e = Assert.Throws<InvalidOperationException>(() => HelperThreads.Run(work, 2, helpers, rented));
            Assert.Equal("the helper's part failed", e.Message);
        }
        finally
        {
            HelperThreads.Return(helpers, rented);
        }
    }

    [Fact]
    public void HelperThreads_CallerInterruptedWhileWaiting_WaitsForHelperThenRaisesInterrupt()
    {
        bool helperFinishedFirst = false, interruptRaisedAfterwards = false;
        var caller = new Thread(() =>
        {
            var helpers = new HelperThreads?[1];
            int rented = HelperThreads.Rent(helpers);
            var work = new SlowHelperWork();
            try
            {
                HelperThreads.Run(work, 2, helpers, rented);
                helperFinishedFirst = work.HelperDone;
                Thread.Sleep(1);
            }
            catch (ThreadInterruptedException)
            {
                interruptRaisedAfterwards = true;
            }
            finally
            {
                HelperThreads.Return(helpers, rented);
            }
        });
        caller.Start();
        Thread.Sleep(50);
        caller.Interrupt();
        Assert.True(caller.Join(TimeSpan.FromSeconds(10)), "the caller did not finish");
        Assert.True(helperFinishedFirst, "Run returned before the helper's part finished");
        Assert.True(interruptRaisedAfterwards, "the interrupt was swallowed");
    }

    [Fact]
    public void MaxDegreeOfParallelism_Huge_ActsAsTheProcessLimit()
    {
        var lstm = new Lstm(40, 64, seed: 2).Eval();
        Tensor<float> x = Randn(1, 30, 16, 40);
        float[] serial = ToArray(lstm.Forward(x).Output);
        lstm.MaxDegreeOfParallelism = int.MaxValue;
        Assert.Equal(serial, ToArray(lstm.Forward(x).Output));
    }

    [Fact]
    public void Step_StateInUseByAnotherCall_Throws()
    {
        var gru = new Gru(3, 4).Eval();
        RecurrentState state = gru.CreateState(batchSize: 1);
        state.Acquire();
        var e = Assert.Throws<InvalidOperationException>(() => gru.Step(Randn(1, 1, 1, 3), state));
        Assert.Contains("one call at a time", e.Message, StringComparison.Ordinal);
        state.Release();
        gru.Step(Randn(1, 1, 1, 3), state);
    }

    [Fact]
    public void MaxDegreeOfParallelism_BelowOne_ThrowsAndKeepsValue()
    {
        var gru = new Gru(3, 4) { MaxDegreeOfParallelism = 2 };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => gru.MaxDegreeOfParallelism = 0);
        Assert.Equal("value", e.ParamName);
        Assert.Equal(2, gru.MaxDegreeOfParallelism);
    }

    [Fact]
    public void HelperThreads_MorePartsThanHelpers_RunsEveryPartOnce()
    {
        var helpers = new HelperThreads?[1];
        int rented = HelperThreads.Rent(helpers);
        try
        {
            var work = new CountingWork(5);
            HelperThreads.Run(work, 5, helpers, rented);
            Assert.Equal([1, 1, 1, 1, 1], work.Counts);
        }
        finally
        {
            HelperThreads.Return(helpers, rented);
        }
    }

    [Fact]
    public void HelperThreads_PartThrows_RethrowsAfterAllPartsFinish()
    {
        var helpers = new HelperThreads?[1];
        int rented = HelperThreads.Rent(helpers);
        try
        {
            var work = new CountingWork(2) { ThrowInPart = rented == 1 ? 1 : 0 };
            var e = Assert.Throws<InvalidOperationException>(() => HelperThreads.Run(work, 2, helpers, rented));
            Assert.Contains("part", e.Message, StringComparison.Ordinal);
            Assert.Equal(2, work.Counts.Sum());

            // The helper is still usable after a failed part.
            var next = new CountingWork(2);
            HelperThreads.Run(next, 2, helpers, rented);
            Assert.Equal([1, 1], next.Counts);
        }
        finally
        {
            HelperThreads.Return(helpers, rented);
        }
    }

    [Fact]
    public void HelperThreads_JudgeCores_TwoSlowedLoopsInARowLeaveEveryPhaseToTheCaller()
    {
        var helpers = new HelperThreads?[1];
        int rented = HelperThreads.Rent(helpers);
        HelperThreads.BusyWindowTicks = 60 * Stopwatch.Frequency; // no expiry during the test
        try
        {
            Assert.Equal(1, rented);
            double large = HelperThreads.DefaultMinWakeFlops;
            HelperThreads.ClearCoresBusy();

            // One slowed loop, or two with a normal one between, may be hiccups of the host: the phases still split.
            HelperThreads.JudgeCores(slowed: true);
            Assert.Equal(rented, HelperThreads.Ready(helpers, rented, large));
            HelperThreads.JudgeCores(slowed: false);
            HelperThreads.JudgeCores(slowed: true);
            Assert.Equal(rented, HelperThreads.Ready(helpers, rented, large));

            // Two in a row: every phase, however large, runs on the caller.
            long leftBefore = HelperThreads.PhasesLeftBusy;
            HelperThreads.JudgeCores(slowed: true);
            Assert.Equal(0, HelperThreads.Ready(helpers, rented, large));
            Assert.Equal(0, HelperThreads.Ready(helpers, rented, 1000 * large, nearPeak: true));
            Assert.Equal(leftBefore + 2, HelperThreads.PhasesLeftBusy);

            HelperThreads.ClearCoresBusy();
            Assert.Equal(rented, HelperThreads.Ready(helpers, rented, large));
        }
        finally
        {
            HelperThreads.ClearCoresBusy();
            HelperThreads.BusyWindowTicks = HelperThreads.DefaultBusyWindowTicks;
            HelperThreads.Return(helpers, rented);
        }
    }

    /// <summary>After a busy verdict, the first split loop after the window is a probe: slowed, it alone renews the verdict
    /// for twice as long (up to 16 times the window); a normal loop starts the count over.</summary>
    [Fact]
    public void HelperThreads_JudgeCores_SlowedProbeRenewsTheVerdictForTwiceAsLong()
    {
        const long window = 1000;
        HelperThreads.BusyWindowTicks = window;
        HelperThreads.ClearCoresBusy();
        try
        {
            HelperThreads.JudgeCores(slowed: true);
            HelperThreads.JudgeCores(slowed: true);
            Assert.Equal(window, HelperThreads.LastBusyWindowTicks);

            long[] renewed = new long[6];
            for (int i = 0; i < renewed.Length; i++)
            {
                HelperThreads.JudgeCores(slowed: true);
                renewed[i] = HelperThreads.LastBusyWindowTicks;
            }

            Assert.Equal([2 * window, 4 * window, 8 * window, 16 * window, 16 * window, 16 * window], renewed);

            // A normal loop: the next verdict takes two slowed loops again, and its window starts from the shortest.
            HelperThreads.JudgeCores(slowed: false);
            HelperThreads.JudgeCores(slowed: true);
            Assert.Equal(16 * window, HelperThreads.LastBusyWindowTicks);
            HelperThreads.JudgeCores(slowed: true);
            Assert.Equal(window, HelperThreads.LastBusyWindowTicks);
        }
        finally
        {
            HelperThreads.ClearCoresBusy();
            HelperThreads.BusyWindowTicks = HelperThreads.DefaultBusyWindowTicks;
        }
    }

    /// <summary>The busy window as a fresh load of the library sets it, before any test changes it: static initialisers
    /// run in textual order, and one that read a field declared below it left the window at 0 ticks, so busy cores
    /// never kept a phase on the caller outside these tests.</summary>
    [Fact]
    public void HelperThreads_BusyWindow_FreshLoadIsTwentyMilliseconds()
    {
        var context = new AssemblyLoadContext("fresh Recurrent", isCollectible: true);
        try
        {
            Assembly fresh = context.LoadFromAssemblyPath(typeof(HelperThreads).Assembly.Location);
            PropertyInfo window = fresh.GetType(typeof(HelperThreads).FullName!, throwOnError: true)!
                .GetProperty(nameof(HelperThreads.BusyWindowTicks), BindingFlags.Static | BindingFlags.NonPublic)!;
            Assert.Equal(Stopwatch.Frequency / 50, (long)window.GetValue(null)!);
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>Units-split time loops whose calling thread waits at the barriers (here: any wait at all counts) mark the
    /// cores busy after two of them; the rest of the call runs on the calling thread, with the same bits.</summary>
    [Fact]
    public void Forward_SlowedUnitLoops_RestOfCallOnCallerBitIdentical()
    {
        var lstm = new Lstm(256, 256, numLayers: 3, seed: 12).Eval(); // W_hh 1 MiB, batch 1: split by units
        Tensor<float> x = Randn(13, 12, 1, 256), h0 = Randn(14, 3, 1, 256), c0 = Randn(15, 3, 1, 256);
        float[][] serial = LayerResults.Forward(lstm, x, h0, c0);
        lstm.MaxDegreeOfParallelism = 2;
        HelperThreads.BusyWindowTicks = 60 * Stopwatch.Frequency;
        HelperThreads.BusyWaitShare = 0;
        HelperThreads.ClearCoresBusy();
        try
        {
            long unitsBefore = DirectionPass.UnitSplitPhases, leftBefore = HelperThreads.PhasesLeftBusy;
            float[][] parallel = LayerResults.Forward(lstm, x, h0, c0);

            // Layers 1 and 2 split by units and wait at their barriers; layer 3 finds the cores busy.
            Assert.Equal(2, DirectionPass.UnitSplitPhases - unitsBefore);
            Assert.True(HelperThreads.PhasesLeftBusy > leftBefore, "no phase was left to the caller");
            LayerResults.AssertBitIdentical(serial, parallel, "two threads, the last layer on the caller, against one thread");
        }
        finally
        {
            HelperThreads.BusyWaitShare = double.PositiveInfinity;
            HelperThreads.BusyWindowTicks = HelperThreads.DefaultBusyWindowTicks;
            HelperThreads.ClearCoresBusy();
        }
    }

    [Fact]
    public void HelperThreads_Ready_SplitsSmallPhasesOnlyForAWakeHelper()
    {
        var helpers = new HelperThreads?[1];
        int rented = HelperThreads.Rent(helpers);
        HelperThreads.MinWakeFlops = HelperThreads.DefaultMinWakeFlops;
        try
        {
            Assert.Equal(1, rented);
            HelperThreads helper = helpers[0]!;
            double small = HelperThreads.DefaultMinWakeFlops / 4, large = HelperThreads.DefaultMinWakeFlops;

            // Asleep: a small phase stays with the caller, and the helper is not woken (no such phase came just before);
            // a large phase is worth the wake-up.
            WaitUntil(() => helper.IsAsleep, "the helper did not go to sleep");
            Thread.Sleep(5);
            long leftBefore = HelperThreads.PhasesLeftToCaller, wakeUpsBefore = helper.WakeUps;
            Assert.Equal(0, HelperThreads.Ready(helpers, rented, small));
            Assert.Equal(leftBefore + 1, HelperThreads.PhasesLeftToCaller);
            Assert.Equal(rented, HelperThreads.Ready(helpers, rented, large));
            Thread.Sleep(20);
            Assert.True(helper.IsAsleep && helper.WakeUps == wakeUpsBefore, "a small phase with none just before woke the helper");

            // A phase near the FMA peak needs NearPeakWakeFactor times as many FLOPs. Small phases in close succession
            // (the first two here) wake the helper, so that the ones after find it spinning. "Close" is 100 µs by default,
            // longer than a loaded machine may keep this thread off its core between two calls: 10 ms here, still under
            // the 20 ms slept since the last phase left to the caller, so the first of the two wakes nothing yet.
            HelperThreads.CloseSuccessionTicks = Stopwatch.Frequency / 100;
            long wakeUps = helper.WakeUps;
            Assert.Equal(0, HelperThreads.Ready(helpers, rented, small));
            Assert.Equal(0, HelperThreads.Ready(helpers, rented, large, nearPeak: true));
            Assert.Equal(rented, HelperThreads.Ready(helpers, rented, HelperThreads.NearPeakWakeFactor * large, nearPeak: true));
            WaitUntil(() => helper.WakeUps > wakeUps, "small phases in close succession did not wake the helper");

            // Awake (spinning right after a phase it ran): small phases are split. Whether the test thread comes back
            // within the helper's ~50 µs spin is up to the scheduler: on the CI machine it never did in 200 attempts
            // once (2026-11-30; the caller, blocked on the helper's late part, woke after the helper's spin had ended,
            // attempt after attempt). So the helper spins ~1000 times as long here, and only the times the test
            // thread comes back within that are checked.
            HelperThreads.SpinIterations = 1000 * HelperThreads.DefaultSpinIterations;
            int sawAwake = 0;
            for (int attempt = 0; attempt < 200 && sawAwake < 5; attempt++)
            {
                HelperThreads.Run(new CountingWork(2), 2, helpers, rented);
                if (!helper.IsAsleep)
                {
                    Assert.Equal(rented, HelperThreads.Ready(helpers, rented, small));
                    sawAwake++;
                }
            }

            Assert.True(sawAwake > 0, "the helper was never found awake right after a phase");
        }
        finally
        {
            HelperThreads.SpinIterations = HelperThreads.DefaultSpinIterations;
            HelperThreads.CloseSuccessionTicks = HelperThreads.DefaultCloseSuccessionTicks;
            HelperThreads.MinWakeFlops = 0;
            HelperThreads.Return(helpers, rented);
        }
    }

    [Fact]
    public async Task HelperThreads_WakeUpsAndStartsInterleaved_EveryPartRunsOnceAndNoStartIsLost()
    {
        // Wake-ups (Ready on an asleep helper, twice in close succession) right before starts, with the helper asleep,
        // waking or spinning: a start whose signal merges with a wake-up's must still run its part exactly once.
        HelperThreads.MinWakeFlops = HelperThreads.DefaultMinWakeFlops;
        try
        {
            Task run = Task.Run(() =>
            {
                var helpers = new HelperThreads?[1];
                int rented = HelperThreads.Rent(helpers);
                try
                {
                    Assert.Equal(1, rented);
                    for (int phase = 0; phase < 3000; phase++)
                    {
                        if (phase % 5 == 0)
                        {
                            Thread.Sleep(1);
                        }

                        HelperThreads.Ready(helpers, rented, 0);
                        HelperThreads.Ready(helpers, rented, 0);
                        var work = new CountingWork(2);
                        HelperThreads.Run(work, 2, helpers, rented);
                        Assert.Equal([1, 1], work.Counts);
                    }
                }
                finally
                {
                    HelperThreads.Return(helpers, rented);
                }
            });
            await run.WaitAsync(TimeSpan.FromSeconds(120)); // a lost start would hang Run: fail instead
        }
        finally
        {
            HelperThreads.MinWakeFlops = 0;
        }
    }

    [Fact]
    public void Forward_TwoThreadsSmallPhasesHelperAsleep_RunOnCallerBitIdentical()
    {
        // GRU 100 → 100 at batch 1: an input product of 6 MFLOP, below the wake-up threshold; H is not a multiple of the
        // panel width, so the time loop runs whole. With the helper asleep the call runs on the caller alone.
        var gru = new Gru(100, 100, seed: 3).Eval();
        Tensor<float> x = Randn(4, 100, 1, 100);
        float[] serial = ToArray(gru.Forward(x).Output);
        gru.MaxDegreeOfParallelism = 2;
        HelperThreads.MinWakeFlops = HelperThreads.DefaultMinWakeFlops;
        try
        {
            long leftBefore = HelperThreads.PhasesLeftToCaller;
            for (int call = 0; call < 3; call++)
            {
                Thread.Sleep(10); // the helper blocks after its spin
                Assert.Equal(serial, ToArray(gru.Forward(x).Output));
            }

            Assert.True(HelperThreads.PhasesLeftToCaller >= leftBefore + 3, "the input products were split for an asleep helper");
        }
        finally
        {
            HelperThreads.MinWakeFlops = 0;
        }
    }

    private static void WaitUntil(Func<bool> condition, string message)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), message);
            Thread.Sleep(1);
        }
    }

    private static RecurrentLayer Create(CellType cell, bool bidirectional, int layers, int projSize, bool batchFirst) =>
        RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = cell, InputSize = 70, HiddenSize = 100, NumLayers = layers, Bidirectional = bidirectional,
            ProjSize = projSize, BatchFirst = batchFirst, Seed = 5,
        }).Eval();

    /// <summary>Part 0 waits at a barrier that part 1 never reaches: part 1 fails first.</summary>
    private sealed class BarrierWork : IPartitionedWork
    {
        private readonly StepBarrier _barrier = new();

        public BarrierWork() => _barrier.Reset();

        public void RunPart(int part, int parts)
        {
            if (part == 1)
            {
                Thread.Sleep(20);
                _barrier.Break();
                throw new InvalidOperationException("the helper's part failed");
            }

            _barrier.SignalAndWait(parts);
        }
    }

    /// <summary>The helper's part takes a while; the caller's part is instant, so the caller waits for it.</summary>
    private sealed class SlowHelperWork : IPartitionedWork
    {
        public volatile bool HelperDone;

        public void RunPart(int part, int parts)
        {
            if (part == 1)
            {
                Thread.Sleep(300);
                HelperDone = true;
            }
        }
    }

    private sealed class CountingWork(int parts) : IPartitionedWork
    {
        public int[] Counts { get; } = new int[parts];

        public int ThrowInPart { get; init; } = -1;

        public void RunPart(int part, int parts)
        {
            Interlocked.Increment(ref Counts[part]);
            if (part == ThrowInPart)
            {
                throw new InvalidOperationException($"part {part} failed");
            }
        }
    }
}

/// <summary>Tests that need the process's helper threads to themselves (to see a split path run) run alone, and split
/// their small phases even when a helper is asleep (<see cref="SplitWhateverTheHelpersState"/>).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HelperThreadsCollection : ICollectionFixture<SplitWhateverTheHelpersState>
{
    public const string Name = "Helper threads";
}

/// <summary>For the collection's run: every phase worth splitting is split, asleep helpers or not (the tests run layers
/// far smaller than <see cref="HelperThreads.DefaultMinWakeFlops"/>); the default comes back afterwards.</summary>
public sealed class SplitWhateverTheHelpersState : IDisposable
{
    public SplitWhateverTheHelpersState()
    {
        HelperThreads.MinWakeFlops = 0;
        HelperThreads.BusyWaitShare = double.PositiveInfinity; // a loaded test machine must not move phases to the caller
        HelperThreads.ClearCoresBusy();
    }

    public void Dispose()
    {
        HelperThreads.MinWakeFlops = HelperThreads.DefaultMinWakeFlops;
        HelperThreads.BusyWaitShare = HelperThreads.DefaultBusyWaitShare;
    }
}
