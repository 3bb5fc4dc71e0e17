using System.Numerics.Tensors;
using Recurrent.Execution;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// MaxDegreeOfParallelism changes who computes, never what: every degree gives the single-threaded bits. The shapes
/// are large enough that both phases of a block (input product, time loop) pass <see cref="DirectionPass.MinParallelFlops"/>
/// and really run in parts, with batches that do not split evenly.
/// </summary>
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

        float[][] serial = Run(layer, x, h0, c0);
        foreach (int degree in new[] { 2, 3, 5 })
        {
            layer.MaxDegreeOfParallelism = degree;
            float[][] parallel = Run(layer, x, h0, c0);
            for (int i = 0; i < serial.Length; i++)
            {
                Assert.True(serial[i].SequenceEqual(parallel[i]), $"degree {degree}: result {i} differs from one thread");
            }
        }
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

        float[][] serial = RunPacked(layer, packed);
        layer.MaxDegreeOfParallelism = 2;
        float[][] parallel = RunPacked(layer, packed);
        for (int i = 0; i < serial.Length; i++)
        {
            Assert.True(serial[i].SequenceEqual(parallel[i]), $"result {i} differs from one thread");
        }
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

    private static RecurrentLayer Create(CellType cell, bool bidirectional, int layers, int projSize, bool batchFirst) =>
        RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = cell, InputSize = 70, HiddenSize = 100, NumLayers = layers, Bidirectional = bidirectional,
            ProjSize = projSize, BatchFirst = batchFirst, Seed = 5,
        }).Eval();

    private static float[][] Run(RecurrentLayer layer, Tensor<float> x, Tensor<float> h0, Tensor<float> c0) => layer switch
    {
        Lstm lstm => lstm.Forward(x, h0, c0) is var (o, (h, c)) ? [ToArray(o), ToArray(h), ToArray(c)] : [],
        Gru gru => gru.Forward(x, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
        Rnn rnn => rnn.Forward(x, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
        _ => throw new ArgumentOutOfRangeException(nameof(layer)),
    };

    private static float[][] RunPacked(RecurrentLayer layer, PackedSequence x) => layer switch
    {
        Lstm lstm => lstm.Forward(x) is var (o, (h, c)) ? [ToArray(o.Data), ToArray(h), ToArray(c)] : [],
        Gru gru => gru.Forward(x) is var (o, h) ? [ToArray(o.Data), ToArray(h)] : [],
        Rnn rnn => rnn.Forward(x) is var (o, h) ? [ToArray(o.Data), ToArray(h)] : [],
        _ => throw new ArgumentOutOfRangeException(nameof(layer)),
    };

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
