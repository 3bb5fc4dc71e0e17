using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// The Forward overloads that write into caller buffers with a <see cref="ForwardWorkspace"/>: same bits as the
/// convenience overloads, no allocation in steady state, every argument checked before anything is written.
/// </summary>
public class ForwardIntoBuffersTests
{
    public static TheoryData<CellType, bool, bool, int, bool> Configurations() => new()
    {
        // cell, batch-first, bidirectional, projection, unbatched
        { CellType.Lstm, false, false, 0, false },
        { CellType.Lstm, true, true, 3, false },
        { CellType.Lstm, false, true, 0, true },
        { CellType.Gru, true, false, 0, false },
        { CellType.Gru, false, true, 0, true },
        { CellType.Rnn, true, true, 0, false },
        { CellType.Rnn, false, false, 0, false },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void ForwardInto_EqualsForward_BitForBit(CellType cell, bool batchFirst, bool bidirectional, int projSize, bool unbatched)
    {
        RecurrentLayer layer = Create(cell, batchFirst, bidirectional, projSize);
        var shapes = new Shapes(layer, steps: 6, batch: 4, unbatched);
        Tensor<float> x = Randn(1, shapes.Input);
        Tensor<float> h0 = Randn(2, shapes.Hidden);
        Tensor<float> c0 = Randn(3, shapes.Cell);

        float[][] expected = LayerResults.Forward(layer, x, h0, c0);
        float[][] actual = ForwardInto(layer, shapes, x, h0, c0, new ForwardWorkspace());
        LayerResults.AssertBitIdentical(expected, actual, "buffers against Forward");
    }

    [Fact]
    public void ForwardInto_NoInitialState_StartsFromZeros()
    {
        var lstm = new Lstm(5, 7, numLayers: 2, seed: 1).Eval();
        Tensor<float> x = Randn(1, 4, 3, 5);
        var (expected, (expectedH, expectedC)) = lstm.Forward(x);
        Tensor<float> output = Zeros(4, 3, 7), hn = Zeros(2, 3, 7), cn = Zeros(2, 3, 7);
        lstm.Forward(x, default, default, output, hn, cn, new ForwardWorkspace());
        Assert.Equal(ToArray(expected), ToArray(output));
        Assert.Equal(ToArray(expectedH), ToArray(hn));
        Assert.Equal(ToArray(expectedC), ToArray(cn));
    }

    [Fact]
    public void ForwardInto_StateInPlace_EqualsSeparateBuffers()
    {
        var lstm = new Lstm(5, 7, numLayers: 3, bidirectional: true, seed: 1).Eval();
        Tensor<float> x = Randn(1, 4, 3, 5);
        Tensor<float> h = Randn(2, 6, 3, 7), c = Randn(3, 6, 3, 7);
        var (expected, (expectedH, expectedC)) = lstm.Forward(x, h, c);

        Tensor<float> output = Zeros(4, 3, 14);
        lstm.Forward(x, h, c, output, h, c, new ForwardWorkspace());
        Assert.Equal(ToArray(expected), ToArray(output));
        Assert.Equal(ToArray(expectedH), ToArray(h));
        Assert.Equal(ToArray(expectedC), ToArray(c));
    }

    [Theory]
    [InlineData(1, false, WeightFormat.Float32)]
    [InlineData(2, true, WeightFormat.Float32)]
    [InlineData(1, false, WeightFormat.BFloat16)] // compact weights: widened slices in a per-thread buffer, kept
    [InlineData(2, true, WeightFormat.BFloat16)]
    public void ForwardInto_SteadyState_AllocatesNothing(int degree, bool batchFirst, WeightFormat format)
    {
        var lstm = new Lstm(64, 96, numLayers: 2, bidirectional: true, batchFirst: batchFirst, seed: 1) { WeightFormat = format }.Eval();
        lstm.MaxDegreeOfParallelism = degree;
        nint[] inputShape = batchFirst ? [32, 20, 64] : [20, 32, 64];
        nint[] outputShape = batchFirst ? [32, 20, 192] : [20, 32, 192];
        Tensor<float> x = Randn(1, inputShape), h0 = Randn(2, 4, 32, 96), c0 = Randn(3, 4, 32, 96);
        Tensor<float> output = Zeros(outputShape), hn = Zeros(4, 32, 96), cn = Zeros(4, 32, 96);
        var workspace = new ForwardWorkspace();
        lstm.Forward(x, h0, c0, output, hn, cn, workspace);

        // Each call measured alone: the fewest bytes any call allocates is what every call allocates (the runtime may
        // allocate once in a while as it re-optimises code, which is not the library's doing).
        long fewest = long.MaxValue;
        for (int i = 0; i < 10; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            lstm.Forward(x, h0, c0, output, hn, cn, workspace);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }

    /// <summary>A service batching requests as they come calls with a few batch sizes in turn: once each has run, the
    /// workspace holds the scratch of each and no call allocates. (One scratch per workspace, as before, reallocated
    /// megabytes at every change of batch size.)</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ForwardInto_AlternatingBatchSizes_AllocatesNothingOnceEachHasRun(int degree)
    {
        var lstm = new Lstm(64, 128, numLayers: 2, seed: 1).Eval();
        lstm.MaxDegreeOfParallelism = degree;
        int[] batches = [32, 16, 8, 1];
        Tensor<float>[] inputs = [.. batches.Select(n => Randn(n, 20, n, 64))];
        Tensor<float>[] outputs = [.. batches.Select(n => Zeros(20, n, 128))];
        Tensor<float>[] states = [.. batches.Select(n => Zeros(2, n, 128))];
        Tensor<float>[] cells = [.. batches.Select(n => Zeros(2, n, 128))];
        var workspace = new ForwardWorkspace();
        void Call(int k) => lstm.Forward(inputs[k], default, default, outputs[k], states[k], cells[k], workspace);
        for (int k = 0; k < batches.Length; k++)
        {
            Call(k);
        }

        long[] fewest = [.. batches.Select(_ => long.MaxValue)];
        for (int round = 0; round < 8; round++)
        {
            for (int k = 0; k < batches.Length; k++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                Call(k);
                fewest[k] = Math.Min(fewest[k], GC.GetAllocatedBytesForCurrentThread() - before);
            }
        }

        Assert.Equal(new long[batches.Length], fewest);

        // And each call's results are those of a fresh workspace.
        for (int k = 0; k < batches.Length; k++)
        {
            Tensor<float> expected = Zeros(20, batches[k], 128), expectedH = Zeros(2, batches[k], 128), expectedC = Zeros(2, batches[k], 128);
            lstm.Forward(inputs[k], default, default, expected, expectedH, expectedC, new ForwardWorkspace());
            Call(k);
            Assert.Equal(ToArray(expected), ToArray(outputs[k]));
            Assert.Equal(ToArray(expectedH), ToArray(states[k]));
            Assert.Equal(ToArray(expectedC), ToArray(cells[k]));
        }
    }

    [Fact]
    public void Forward_Packed_ReusesTheLayersScratch()
    {
        var gru = new Gru(64, 96, numLayers: 2, seed: 1).Eval();
        Tensor<float> x = Randn(1, 20, 32, 64);
        int[] lengths = [.. Enumerable.Range(0, 32).Select(i => 20 - (i % 20))];
        PackedSequence packed = RnnUtils.PackPaddedSequence(x, lengths, enforceSorted: false);
        gru.Forward(packed);

        var (fewest, returned) = FewestBytesPerCall(() =>
            gru.Forward(packed) is var (output, hidden) ? (output.Data.FlattenedLength + hidden.FlattenedLength) * sizeof(float) : 0);

        // The returned data, the packed input's data read as one span, the states' copies in sorted order, and small
        // objects: no workspace (the gate buffer alone is 1 MiB).
        long inputData = packed.Data.FlattenedLength * sizeof(float);
        Assert.InRange(fewest, returned, returned + inputData + (4 * 96 * 32 * sizeof(float)) + 4096);
    }

    [Fact]
    public void Forward_PlainAndPackedInTurn_KeepEachOthersScratch()
    {
        // A plain call of 10 steps (160 rows) and a packed one of 15 steps (128 rows) at batch 16: neither's scratch fits
        // the other's call, so the layer's cache keeps both rather than replacing one with the other at every call.
        var gru = new Gru(8, 10, numLayers: 2, seed: 1).Eval();
        Tensor<float> x = Randn(1, 10, 16, 8);
        int[] lengths = [.. Enumerable.Repeat(15, 8), .. Enumerable.Repeat(1, 8)];
        PackedSequence packed = RnnUtils.PackPaddedSequence(Randn(2, 15, 16, 8), lengths);
        gru.Forward(x);
        gru.Forward(packed);

        var (fewest, returned) = FewestBytesPerCall(
            () => gru.Forward(x) is var (output, hidden) ? (output.FlattenedLength + hidden.FlattenedLength) * sizeof(float) : 0,
            untimedBefore: () => gru.Forward(packed));

        Assert.InRange(fewest, returned, returned + 1024);
    }

    [Fact]
    public void Forward_Convenience_AllocatesOnlyWhatItReturns()
    {
        var gru = new Gru(64, 96, numLayers: 2, seed: 1).Eval();
        Tensor<float> x = Randn(1, 20, 32, 64);
        gru.Forward(x);

        var (fewest, returned) = FewestBytesPerCall(() =>
            gru.Forward(x) is var (output, hidden) ? (output.FlattenedLength + hidden.FlattenedLength) * sizeof(float) : 0);

        // The returned data, plus the two tensor objects, their shape arrays and the result tuple.
        Assert.InRange(fewest, returned, returned + 1024);
    }

    /// <summary>The fewest bytes any of five calls allocated, each measured alone (the runtime may allocate once in a
    /// while as it re-optimises code), and the bytes of data the last call returned (what <paramref name="call"/>
    /// gives back). <paramref name="untimedBefore"/> runs before each call, outside the measurement.</summary>
    private static (long Fewest, long Returned) FewestBytesPerCall(Func<long> call, Action? untimedBefore = null)
    {
        long fewest = long.MaxValue, returned = 0;
        for (int i = 0; i < 5; i++)
        {
            untimedBefore?.Invoke();
            long before = GC.GetAllocatedBytesForCurrentThread();
            long data = call();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            returned = data;
        }

        return (fewest, returned);
    }

    [Fact]
    public void Workspace_ReusedAcrossShapesAndLayers_StaysCorrect()
    {
        var workspace = new ForwardWorkspace();
        var big = new Gru(9, 13, numLayers: 2, seed: 1).Eval();
        var small = new Rnn(4, 5, bidirectional: true, seed: 2).Eval();
        foreach (var (layer, steps, batch) in new (RecurrentLayer, int, int)[] { (big, 30, 5), (small, 3, 2), (big, 7, 1), (small, 50, 9), (big, 30, 5) })
        {
            var shapes = new Shapes(layer, steps, batch, unbatched: false);
            Tensor<float> x = Randn(steps, shapes.Input), h0 = Randn(batch, shapes.Hidden);
            float[][] expected = LayerResults.Forward(layer, x, h0, null);
            float[][] actual = ForwardInto(layer, shapes, x, h0, null, workspace);
            Assert.Equal(expected[0], actual[0]);
            Assert.Equal(expected[1], actual[1]);
        }
    }

    [Fact]
    public void Workspace_ReusedByALayerWithAWiderInput_StaysCorrect()
    {
        // GRU layers small enough for lanes: the lane input buffer is as wide as the input, so a layer with the same
        // hidden size but a wider input must not take the narrower one's buffers (it once overran them, on every call).
        var workspace = new ForwardWorkspace();
        var narrow = new Gru(8, 32, seed: 1).Eval();
        var wide = new Gru(200, 32, seed: 2).Eval();
        foreach (var (layer, seed) in new (RecurrentLayer, int)[] { (narrow, 1), (wide, 2), (wide, 3), (narrow, 4), (wide, 5) })
        {
            var shapes = new Shapes(layer, steps: 10, batch: 32, unbatched: false);
            Tensor<float> x = Randn(seed, shapes.Input), h0 = Randn(seed + 10, shapes.Hidden);
            float[][] expected = LayerResults.Forward(layer, x, h0, null);
            float[][] actual = ForwardInto(layer, shapes, x, h0, null, workspace);
            Assert.Equal(expected[0], actual[0]);
            Assert.Equal(expected[1], actual[1]);
        }
    }

    [Fact]
    public void Workspace_InUse_Throws()
    {
        var rnn = new Rnn(3, 4).Eval();
        var workspace = new ForwardWorkspace();
        workspace.Acquire();
        var e = Assert.Throws<InvalidOperationException>(() => rnn.Forward(Randn(1, 2, 1, 3), default, Zeros(2, 1, 4), Zeros(1, 1, 4), workspace));
        Assert.Contains("one call at a time", e.Message, StringComparison.Ordinal);
        workspace.Release();
        rnn.Forward(Randn(1, 2, 1, 3), default, Zeros(2, 1, 4), Zeros(1, 1, 4), workspace);
    }

    public static TheoryData<string, string, string> BadCalls() => new()
    {
        // case, expected parameter name, text the message must contain
        { "output wrong shape", "output", "(6, 4, 7)" },
        { "output not dense", "output", "non-dense" },
        { "hn wrong shape", "hn", "(2, 4, 7)" },
        { "cn wrong rank", "cn", "(2, 4, 7)" },
        { "cn missing", "cn", "none" },
        { "h0 wrong shape", "h0", "(2, 4, 7)" },
        { "h0 without c0", "c0", "h0 without c0" },
        { "h0 and c0 with no elements", "h0", "(2, 0, 7)" }, // a state of another batch, not a missing one
        { "c0 with no elements", "c0", "(2, 0, 7)" },
        { "h0 and c0 of rank 1, empty", "h0", "(2, 4, 7)" },
        { "input wrong features", "input", "input_size" },
        { "output overlaps input", "output", "overlaps" },
        { "hn overlaps c0", "hn", "overlaps" },
        { "hn shifted over h0", "hn", "overlaps" },
    };

    [Theory]
    [MemberData(nameof(BadCalls))]
    public void ForwardInto_BadArgument_ThrowsNamingItAndWritesNothing(string name, string parameter, string text)
    {
        var lstm = new Lstm(5, 7, numLayers: 2, seed: 1).Eval();
        StateDict weightsBefore = lstm.StateDict();
        var arena = new float[4096];
        Array.Fill(arena, 42f);
        Tensor<float> Slice(int offset, params nint[] shape) =>
            Tensor.Create(arena, offset, shape, default);

        Tensor<float> x = Randn(1, 6, 4, 5), h0 = Randn(2, 2, 4, 7), c0 = Randn(3, 2, 4, 7);
        Tensor<float> output = Slice(0, 6, 4, 7), hn = Slice(1000, 2, 4, 7), cn = Slice(2000, 2, 4, 7);
        Tensor<float> input = x, initialH = h0, outputSpan = output, hnSpan = hn, cnSpan = cn;
        Tensor<float>? initialC = c0;
        switch (name)
        {
            case "output wrong shape": outputSpan = Slice(0, 6, 4, 8); break;
            case "output not dense": outputSpan = Tensor.Create(arena, 0, [6, 4, 7], [56, 7, 1]); break;
            case "hn wrong shape": hnSpan = Slice(1000, 2, 5, 7); break;
            case "cn wrong rank": cnSpan = Slice(2000, 8, 7); break;
            case "cn missing": cnSpan = Tensor<float>.Empty; break;
            case "h0 wrong shape": initialH = Randn(2, 2, 3, 7); break;
            case "h0 without c0": initialC = null; break;
            case "h0 and c0 with no elements": initialH = Zeros(2, 0, 7); initialC = Zeros(2, 0, 7); break;
            case "c0 with no elements": initialC = Zeros(2, 0, 7); break;
            case "h0 and c0 of rank 1, empty": initialH = Zeros(0); initialC = Zeros(0); break;
            case "input wrong features": input = Randn(1, 6, 4, 6); break;
            case "output overlaps input": input = Slice(100, 6, 4, 5); break;
            case "hn overlaps c0": initialC = Slice(1010, 2, 4, 7); break;
            case "hn shifted over h0": initialH = Slice(990, 2, 4, 7); break;
            default: throw new ArgumentOutOfRangeException(nameof(name));
        }

        float[] arenaBefore = (float[])arena.Clone();
        var e = Assert.ThrowsAny<ArgumentException>(() => lstm.Forward(input, initialH, initialC is null ? default : initialC.AsReadOnlyTensorSpan(), outputSpan, hnSpan, cnSpan, new ForwardWorkspace()));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
        Assert.Equal(arenaBefore, arena);
        Assert.All(weightsBefore, kv => Assert.Equal(ToArray(kv.Value), ToArray(lstm.StateDict()[kv.Key])));
    }

    private static RecurrentLayer Create(CellType cell, bool batchFirst, bool bidirectional, int projSize) =>
        RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = cell, InputSize = 5, HiddenSize = 7, NumLayers = 2, BatchFirst = batchFirst, Bidirectional = bidirectional,
            ProjSize = projSize, Seed = 3,
        }).Eval();

    private static float[][] ForwardInto(RecurrentLayer layer, Shapes shapes, Tensor<float> x, Tensor<float> h0, Tensor<float>? c0, ForwardWorkspace workspace)
    {
        Tensor<float> output = Zeros(shapes.Output), hn = Zeros(shapes.Hidden), cn = Zeros(shapes.Cell);
        switch (layer)
        {
            case Lstm lstm:
                lstm.Forward(x, h0, c0!, output, hn, cn, workspace);
                return [ToArray(output), ToArray(hn), ToArray(cn)];
            case Gru gru:
                gru.Forward(x, h0, output, hn, workspace);
                return [ToArray(output), ToArray(hn)];
            case Rnn rnn:
                rnn.Forward(x, h0, output, hn, workspace);
                return [ToArray(output), ToArray(hn)];
            default:
                throw new ArgumentOutOfRangeException(nameof(layer));
        }
    }

    /// <summary>The shapes of one call of <paramref name="layer"/>, in its layout.</summary>
    private sealed class Shapes(RecurrentLayer layer, int steps, int batch, bool unbatched)
    {
        private readonly int _states = (layer.Bidirectional ? 2 : 1) * layer.NumLayers;
        private readonly int _hOut = layer is Lstm { ProjSize: > 0 } lstm ? lstm.ProjSize : layer.HiddenSize;

        public nint[] Input => Layout(layer.InputSize);

        public nint[] Output => Layout((layer.Bidirectional ? 2 : 1) * _hOut);

        public nint[] Hidden => unbatched ? [_states, _hOut] : [_states, batch, _hOut];

        public nint[] Cell => unbatched ? [_states, layer.HiddenSize] : [_states, batch, layer.HiddenSize];

        private nint[] Layout(int features) =>
            unbatched ? [steps, features] : layer.BatchFirst ? [batch, steps, features] : [steps, batch, features];
    }
}
