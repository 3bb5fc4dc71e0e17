using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Streaming;

/// <summary>
/// A sequence fed chunk by chunk through a caller-owned state gives exactly (bit for bit) the output and final state
/// of one Forward over the whole sequence; one layer serves many streams at once; steady-state steps allocate nothing.
/// </summary>
public class StreamingTests
{
    public static TheoryData<CellType, int, int, bool, bool> Configurations() => new()
    {
        // cell, layers, projSize, batchFirst, unbatched
        { CellType.Rnn, 1, 0, false, false },
        { CellType.Rnn, 3, 0, true, false },
        { CellType.Gru, 2, 0, false, false },
        { CellType.Gru, 1, 0, true, true },
        { CellType.Lstm, 1, 0, false, true },
        { CellType.Lstm, 2, 0, true, false },
        { CellType.Lstm, 2, 4, false, false },
        { CellType.Lstm, 3, 3, true, false },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Step_ChunksOfAnySize_EqualOneForwardOverTheWholeSequence(CellType cell, int layers, int projSize, bool batchFirst, bool unbatched)
    {
        var options = new RecurrentLayerOptions
        {
            CellType = cell, InputSize = 7, HiddenSize = 9, NumLayers = layers, ProjSize = projSize, BatchFirst = batchFirst, Seed = 3,
        };
        RecurrentLayer layer = RecurrentLayer.Create(options).Eval();
        const int Steps = 23, Batch = 3;
        Tensor<float> whole = unbatched ? Randn(1, Steps, 7) : batchFirst ? Randn(1, Batch, Steps, 7) : Randn(1, Steps, Batch, 7);
        var (expected, expectedHidden, expectedCell) = ForwardAll(layer, whole);

        foreach (int[] chunks in new[] { Enumerable.Repeat(1, Steps).ToArray(), [5, 1, 7, 2, 8], [Steps], [2, 2, 2, 17] })
        {
            RecurrentState state = unbatched ? layer.CreateState() : layer.CreateState(Batch);
            var outputs = new List<float[]>();
            int start = 0;
            foreach (int length in chunks)
            {
                outputs.Add(ToArray(layer.Step(Chunk(whole, start, length, batchFirst && !unbatched), state)));
                start += length;
            }

            float[] streamed = Concatenate(outputs, Steps, unbatched ? 1 : Batch, layer is Lstm l && l.ProjSize > 0 ? projSize : 9, batchFirst && !unbatched);
            string context = $"chunks [{string.Join(", ", chunks)}]";
            Assert.True(expected.SequenceEqual(streamed), context + ": output differs");
            Assert.True(expectedHidden.SequenceEqual(ToArray(state.Hidden)), context + ": h differs");
            if (expectedCell is not null)
            {
                Assert.True(expectedCell.SequenceEqual(ToArray(state.Cell!)), context + ": c differs");
            }
        }
    }

    [Fact]
    public void Step_FromAStateWrittenByTheCaller_EqualsForwardFromThatInitialState()
    {
        var lstm = new Lstm(5, 6, numLayers: 2, seed: 1).Eval();
        Tensor<float> x = Randn(1, 4, 2, 5);
        Tensor<float> h0 = Randn(2, 2, 2, 6), c0 = Randn(3, 2, 2, 6);
        var (expected, (hn, cn)) = lstm.Forward(x, (h0, c0));

        RecurrentState state = lstm.CreateState(2);
        h0.CopyTo(state.Hidden);
        c0.CopyTo(state.Cell!);
        Tensor<float> output = lstm.Step(x, state);

        Assert.Equal(ToArray(expected), ToArray(output));
        Assert.Equal(ToArray(hn), ToArray(state.Hidden));
        Assert.Equal(ToArray(cn), ToArray(state.Cell!));
        state.Reset();
        Assert.All(ToArray(state.Hidden).Concat(ToArray(state.Cell!)), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Step_StateOfALayerWithANarrowerInput_CarriesOverToAWiderOne()
    {
        // A state holds h of (layers, N, H): another layer of that kind and size may continue from it, even with a wider
        // input, whose lane buffers the state's cached scratch is too narrow for (it once overran them).
        var narrow = new Gru(8, 32, seed: 1).Eval();
        var wide = new Gru(200, 32, seed: 2).Eval();
        RecurrentState state = narrow.CreateState(32);
        narrow.Step(Randn(1, 3, 32, 8), state);
        Tensor<float> h = Randn(0, 1, 32, 32);
        state.Hidden.CopyTo(h);

        Tensor<float> x = Randn(2, 3, 32, 200); // as many steps as the narrow layer's chunk: its scratch would fit them
        var (expected, expectedH) = wide.Forward(x, h);
        Tensor<float> output = wide.Step(x, state);
        Assert.Equal(ToArray(expected), ToArray(output));
        Assert.Equal(ToArray(expectedH), ToArray(state.Hidden));
    }

    [Fact]
    public void Step_EightThreadsThroughOneLayer_MatchSerialResultsExactly()
    {
        var gru = new Gru(6, 10, numLayers: 2, seed: 2).Eval();
        const int Threads = 8, Steps = 200;
        Tensor<float>[] sequences = Enumerable.Range(0, Threads).Select(i => Randn(10 + i, Steps, 6)).ToArray();
        float[][] serial = sequences.Select(s => ToArray(gru.Forward(s).Output)).ToArray();
        var streamed = new float[Threads][];
        using var start = new Barrier(Threads);

        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            RecurrentState state = gru.CreateState();
            var output = new float[Steps * 10];
            var stepOutput = Tensor.CreateFromShape<float>([1, 10]);
            start.SignalAndWait();
            for (int t = 0; t < Steps; t++)
            {
                gru.Step(sequences[i].Slice([new System.Buffers.NRange(t, t + 1), System.Buffers.NRange.All]).AsReadOnlyTensorSpan(), state, stepOutput.AsTensorSpan());
                stepOutput.FlattenTo(output.AsSpan(t * 10, 10));
            }

            streamed[i] = output;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int i = 0; i < Threads; i++)
        {
            Assert.True(serial[i].SequenceEqual(streamed[i]), $"stream {i} differs from its serial Forward");
        }
    }

    [Fact]
    public void Step_WithCallerBuffers_AllocatesNothingInSteadyState()
    {
        var lstm = new Lstm(16, 32, numLayers: 2, projSize: 8, batchFirst: true, seed: 1).Eval();
        RecurrentState state = lstm.CreateState(4);
        Tensor<float> chunk = Randn(1, 4, 3, 16);
        Tensor<float> output = Tensor.CreateFromShape<float>([4, 3, 8]);
        for (int i = 0; i < 3; i++)
        {
            lstm.Step(chunk.AsReadOnlyTensorSpan(), state, output.AsTensorSpan());
        }

        // Each call measured alone: the fewest bytes any call allocates is what every call allocates (the runtime may
        // allocate once in a while as it re-optimises code, which is not the library's doing).
        long fewest = long.MaxValue;
        for (int i = 0; i < 100; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            lstm.Step(chunk.AsReadOnlyTensorSpan(), state, output.AsTensorSpan());
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }

    [Fact]
    public void CreateState_Bidirectional_ThrowsNotSupportedSayingWhy()
    {
        var lstm = new Lstm(4, 5, bidirectional: true);
        var ex = Assert.Throws<NotSupportedException>(() => lstm.CreateState(2));
        Assert.Contains("bidirectional", ex.Message, StringComparison.Ordinal);
        Assert.Contains("reverse direction", ex.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => lstm.CreateState());
    }

    [Fact]
    public void Step_BadChunkOrForeignState_ThrowsAndChangesNothing()
    {
        var rnn = new Rnn(4, 5, seed: 1);
        RecurrentState state = rnn.CreateState(2);
        Randn(1, 1, 2, 5).CopyTo(state.Hidden);
        float[] before = ToArray(state.Hidden);

        var wrongBatch = Assert.Throws<ArgumentException>(() => rnn.Step(Randn(2, 3, 3, 4), state));
        Assert.Equal("input", wrongBatch.ParamName);
        Assert.Contains("N = 2", wrongBatch.Message, StringComparison.Ordinal);
        Assert.Contains("(3, 3, 4)", wrongBatch.Message, StringComparison.Ordinal);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => rnn.Step(Randn(2, 3, 4), state)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => rnn.Step(Zeros(0, 2, 4), state)).ParamName);
        ArgumentAssert.Throws<ArgumentException>("state", () => rnn.Step(Randn(2, 3, 2, 4), new Rnn(4, 6).CreateState(2)), "(1, 2, 6)", "(1, 2, 5)");
        ArgumentAssert.Throws<ArgumentException>(
            "state", () => new Lstm(4, 3, numLayers: 2).Step(Randn(2, 3, 2, 4), new Lstm(4, 3).CreateState(2)), "c (1, 2, 3)", "c (2, 2, 3)");
        ArgumentAssert.Throws<ArgumentException>("state", () => new Gru(4, 5, bidirectional: true).Step(Randn(2, 3, 2, 4), new Gru(4, 5).CreateState(2)), "bidirectional");
        ArgumentAssert.Throws<ArgumentException>("output", () => rnn.Step(Randn(2, 3, 2, 4).AsReadOnlyTensorSpan(), state, default), "(3, 2, 5)", "none");
        var badOutput = Assert.Throws<ArgumentException>(() => rnn.Step(Randn(2, 3, 2, 4).AsReadOnlyTensorSpan(), state, Zeros(3, 2, 4).AsTensorSpan()));
        Assert.Equal("output", badOutput.ParamName);
        Assert.Contains("(3, 2, 5)", badOutput.Message, StringComparison.Ordinal);
        Assert.Equal(before, ToArray(state.Hidden));

        // Writing the output over the state it is computed from would corrupt it: refused.
        var rnn2 = new Rnn(5, 5, numLayers: 2, seed: 1);
        RecurrentState state2 = rnn2.CreateState(1);
        Randn(4, 2, 1, 5).CopyTo(state2.Hidden);
        float[] before2 = ToArray(state2.Hidden);
        var overlap = Assert.Throws<ArgumentException>(() => rnn2.Step(Randn(5, 2, 1, 5).AsReadOnlyTensorSpan(), state2, state2.Hidden.AsTensorSpan()));
        Assert.Equal("output", overlap.ParamName);
        Assert.Contains("overlaps", overlap.Message, StringComparison.Ordinal);
        Assert.Equal(before2, ToArray(state2.Hidden));
    }

    private static (float[] Output, float[] Hidden, float[]? Cell) ForwardAll(RecurrentLayer layer, Tensor<float> input) => layer switch
    {
        Lstm lstm => Flatten(lstm.Forward(input)),
        Gru gru => Arrays(gru.Forward(input)),
        Rnn rnn => Arrays(rnn.Forward(input)),
        _ => throw new InvalidOperationException(),
    };

    private static (float[], float[], float[]?) Flatten((Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) r) =>
        (ToArray(r.Output), ToArray(r.State.H), ToArray(r.State.C));

    /// <summary>Steps [start, start + length) of a sequence tensor, as a dense copy in the same layout.</summary>
    private static Tensor<float> Chunk(Tensor<float> whole, int start, int length, bool batchFirst)
    {
        var range = new System.Buffers.NRange(start, start + length);
        var all = System.Buffers.NRange.All;
        Tensor<float> view = whole.Rank == 2 ? whole.Slice([range, all])
            : batchFirst ? whole.Slice([all, range, all]) : whole.Slice([range, all, all]);
        return Tensor.Create(ToArray(view), view.Lengths);
    }

    /// <summary>Joins chunk outputs along the time axis back into one array in the layer's layout.</summary>
    private static float[] Concatenate(List<float[]> chunks, int steps, int batch, int features, bool batchFirst)
    {
        if (!batchFirst)
        {
            return chunks.SelectMany(c => c).ToArray();
        }

        var result = new float[steps * batch * features];
        int start = 0;
        foreach (float[] chunk in chunks)
        {
            int length = chunk.Length / (batch * features);
            for (int n = 0; n < batch; n++)
            {
                Array.Copy(chunk, n * length * features, result, (n * steps + start) * features, length * features);
            }

            start += length;
        }

        return result;
    }

    private static (float[], float[], float[]?) Arrays((Tensor<float> Output, Tensor<float> Hidden) r) => (ToArray(r.Output), ToArray(r.Hidden), null);
}
