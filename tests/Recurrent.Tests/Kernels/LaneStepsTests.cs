using System.Numerics.Tensors;
using Recurrent.Execution;
using Recurrent.Kernels;
using Recurrent.Tests.Layers;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// Layers with few gates run their time loop with the batch across vector lanes (<see cref="LaneSteps"/>). The
/// transposes in and out of lanes must move exactly the elements asked for, and a layer must give the same bits in
/// lanes as row-major (on the FMA kernel paths; the scalar path rounds multiply and add apart, so there the two agree to
/// rounding only).
/// </summary>
[Collection(HelperThreadsCollection.Name)] // alone: LanesOverride is process-wide, and LaneBlocks must move only for this class
public class LaneStepsTests
{
    private const float Sentinel = -12345.5f;

    public static TheoryData<int, int> TransposeShapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int count in new[] { 1, 5, 16, 17, 33, 64 })
        {
            foreach (int width in new[] { 1, 5, 7, 10, 11, 14, 16, 17, 20, 40 })
            {
                data.Add(count, width);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TransposeShapes))]
    public void ToLanesAndFromLanes_MoveExactlyTheirElements(int count, int width)
    {
        var rng = new Random((count * 100) + width);
        int rowStride = width + 3, laneStride = LaneSteps.Stride(count) + LaneSteps.Lanes;
        float[] rows = Enumerable.Range(0, (count * rowStride) + 7).Select(_ => (float)rng.NextDouble()).ToArray();

        // Into lanes: element (n, kk) at kk·laneStride + n, everything else untouched.
        float[] lanes = Filled((width + 1) * laneStride);
        LaneTransposes.ToLanes(rows, rowStride, count, width, lanes, laneStride);
        for (int i = 0; i < lanes.Length; i++)
        {
            int kk = i / laneStride, n = i % laneStride;
            float expected = kk < width && n < count ? rows[(n * rowStride) + kk] : Sentinel;
            Assert.True(expected == lanes[i], $"lanes[{i}] (kk {kk}, n {n}): expected {expected}, got {lanes[i]}");
        }

        // And back, into rows whose gaps must stay as they were.
        float[] back = Filled(rows.Length);
        LaneTransposes.FromLanes(lanes, laneStride, count, width, back, rowStride);
        for (int i = 0; i < back.Length; i++)
        {
            int n = i / rowStride, kk = i % rowStride;
            float expected = n < count && kk < width ? rows[i] : Sentinel;
            Assert.True(expected == back[i], $"rows[{i}] (n {n}, kk {kk}): expected {expected}, got {back[i]}");
        }
    }

    /// <summary>The AVX-512 16 × 16 block transposes give the element-by-element forms' results.</summary>
    [Avx512Theory]
    [MemberData(nameof(TransposeShapes))]
    public void BlockTransposes512_GiveTheScalarResults(int count, int width)
        => AssertSameAsScalar(count, width, LaneTransposes.ToLanes512, LaneTransposes.FromLanes512);

    /// <summary>The AVX 8 × 8 block transposes give the element-by-element forms' results.</summary>
    [AvxTheory]
    [MemberData(nameof(TransposeShapes))]
    public void BlockTransposes256_GiveTheScalarResults(int count, int width)
        => AssertSameAsScalar(count, width, LaneTransposes.ToLanes256, LaneTransposes.FromLanes256);

    /// <summary>The Vector128 transposing copies (Arm64, x64 before AVX) give the element-by-element forms' results.</summary>
    [Theory]
    [MemberData(nameof(TransposeShapes))]
    public void Transposes128_GiveTheScalarResults(int count, int width)
        => AssertSameAsScalar(count, width, LaneTransposes.ToLanes128, LaneTransposes.FromLanes128);

    /// <summary>A block transpose pair against the scalar forms, both directions, on rows with gaps and lanes with
    /// sentinels around them: the same floats everywhere, gaps included.</summary>
    private static void AssertSameAsScalar(int count, int width, Transpose toLanes, Transpose fromLanes)
    {
        var rng = new Random((count * 100) + width);
        int rowStride = width + 3, laneStride = LaneSteps.Stride(count) + LaneSteps.Lanes;
        float[] rows = Enumerable.Range(0, (count * rowStride) + 7).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] lanes = Filled((width + 1) * laneStride);
        LaneTransposes.ToLanesScalar(rows, rowStride, count, width, lanes, laneStride);

        float[] viaScalar = Filled(lanes.Length), viaBlocks = Filled(lanes.Length);
        LaneTransposes.ToLanesScalar(rows, rowStride, count, width, viaScalar, laneStride);
        toLanes(rows, rowStride, count, width, viaBlocks, laneStride);
        Assert.Equal(viaScalar, viaBlocks);
        float[] rowsScalar = Filled(rows.Length), rowsBlocks = Filled(rows.Length);
        LaneTransposes.FromLanesScalar(lanes, laneStride, count, width, rowsScalar, rowStride);
        fromLanes(lanes, laneStride, count, width, rowsBlocks, rowStride);
        Assert.Equal(rowsScalar, rowsBlocks);
    }

    /// <summary>A transpose between rows and lanes: <c>count</c> × <c>width</c> from one layout (stride
    /// <paramref name="fromStride"/>) into the other (stride <paramref name="toStride"/>).</summary>
    private delegate void Transpose(ReadOnlySpan<float> from, int fromStride, int count, int width, Span<float> to, int toStride);

    /// <summary>Dense rows (row stride = width), which the AVX-512 form moves by permutes in whole blocks of 16 rows at
    /// widths up to 8 and by block transposes otherwise: every width around that bound, whole and partial blocks.</summary>
    [Theory]
    [InlineData(16, 1)]
    [InlineData(64, 2)]
    [InlineData(48, 3)]
    [InlineData(64, 5)]
    [InlineData(37, 5)]
    [InlineData(16, 6)]
    [InlineData(33, 7)]
    [InlineData(80, 8)]
    [InlineData(20, 8)]
    [InlineData(64, 9)]
    [InlineData(15, 4)]
    public void DenseRows_MoveToLanesAndBack(int count, int width)
    {
        (float[] rows, int laneStride) = DenseRows(count, width);
        float[] lanes = Filled((width + 1) * laneStride);
        LaneTransposes.ToLanes(rows, width, count, width, lanes, laneStride);
        for (int i = 0; i < lanes.Length; i++)
        {
            int kk = i / laneStride, n = i % laneStride;
            float expected = kk < width && n < count ? rows[(n * width) + kk] : Sentinel;
            Assert.True(expected == lanes[i], $"lanes[{i}] (kk {kk}, n {n}): expected {expected}, got {lanes[i]}");
        }

        float[] back = Filled((count * width) + 5);
        LaneTransposes.FromLanes(lanes, laneStride, count, width, back, width);
        AssertRowsThenSentinels(rows, back);
    }

    /// <summary>The AVX form on dense rows, called directly: whole-vector stores that run into the next rows, the last
    /// ones partial, so nothing after the last row changes.</summary>
    [AvxTheory]
    [InlineData(16, 1)]
    [InlineData(48, 3)]
    [InlineData(37, 5)]
    [InlineData(33, 7)]
    [InlineData(20, 8)]
    [InlineData(64, 9)]
    [InlineData(15, 4)]
    public void DenseRows_FromLanes256_StopsAtTheLastRow(int count, int width)
    {
        (float[] rows, int laneStride) = DenseRows(count, width);
        float[] lanes = Filled((width + 1) * laneStride);
        LaneTransposes.ToLanesScalar(rows, width, count, width, lanes, laneStride);
        float[] viaBlocks = Filled((count * width) + 8);
        LaneTransposes.FromLanes256(lanes, laneStride, count, width, viaBlocks, width);
        AssertRowsThenSentinels(rows, viaBlocks);
    }

    /// <summary><paramref name="count"/> dense rows of <paramref name="width"/> random floats, seeded by the shape, and
    /// the lane stride for that many sequences.</summary>
    private static (float[] Rows, int LaneStride) DenseRows(int count, int width)
    {
        var rng = new Random((count * 31) + width);
        float[] rows = Enumerable.Range(0, count * width).Select(_ => (float)rng.NextDouble()).ToArray();
        return (rows, LaneSteps.Stride(count) + LaneSteps.Lanes);
    }

    /// <summary><paramref name="written"/> starts with <paramref name="rows"/> and holds only sentinels after them.</summary>
    private static void AssertRowsThenSentinels(float[] rows, float[] written)
    {
        Assert.Equal(rows, written[..rows.Length]);
        Assert.All(written[rows.Length..], value => Assert.Equal(Sentinel, value));
    }

    [Fact]
    public void Transposes_RejectSpansTooShort()
    {
        float[] rows = new float[10 * 4], lanes = new float[4 * 16];
        Assert.Throws<ArgumentException>("rows", () => LaneTransposes.ToLanes(rows, 4, 10, 5, lanes, 16));
        Assert.Throws<ArgumentException>("rows", () => LaneTransposes.ToLanes(rows, 4, 17, 4, lanes, 16));
        Assert.Throws<ArgumentException>("rows", () => LaneTransposes.FromLanes(lanes, 16, 10, 5, rows, 4));
    }

    public static TheoryData<CellType, int, int, int, bool, int, int> Layers() => new()
    {
        // cell, input, hidden, layers, bidirectional, batch, steps
        { CellType.Lstm, 10, 5, 1, false, 64, 12 },  // the tutorial's LSTM (T1)
        { CellType.Rnn, 20, 10, 4, true, 64, 5 },    // the tutorial's stacked bidirectional RNN (T2)
        { CellType.Rnn, 7, 32, 1, false, 33, 3 },    // 32 gates (a whole panel), a part-filled last vector of sequences
        { CellType.Lstm, 3, 6, 2, true, 8, 4 },      // the smallest batch run in lanes
        { CellType.Lstm, 3, 8, 1, false, 17, 4 },    // 32 gates (a whole panel)
        { CellType.Lstm, 21, 6, 1, false, 40, 9 },   // input wider than a transpose block
        { CellType.Lstm, 16, 16, 2, true, 64, 6 },   // 64 gates: two panels of W
        { CellType.Lstm, 5, 30, 1, false, 50, 4 },   // 120 gates: four panels, the last part-filled
        { CellType.Lstm, 32, 32, 1, false, 49, 3 },  // 128 gates, the most in lanes
        { CellType.Rnn, 9, 48, 2, false, 33, 5 },    // the widest RNN in lanes: two panels, the second part-filled
        { CellType.Gru, 10, 5, 1, false, 64, 12 },   // GRU: the input and hidden parts as two products
        { CellType.Gru, 16, 16, 2, true, 40, 5 },    // 48 gates, stacked bidirectional
        { CellType.Gru, 7, 42, 1, false, 49, 3 },    // 126 gates: the widest GRU in lanes
        { CellType.Gru, 3, 8, 1, false, 8, 4 },      // the smallest batch run in lanes
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void LayersInLanes_GiveTheRowMajorBits(CellType cell, int inputSize, int hiddenSize, int numLayers, bool bidirectional, int batch, int steps)
    {
        int directions = bidirectional ? 2 : 1;
        Tensor<float> x = Randn(11, steps, batch, inputSize);
        Tensor<float> h0 = Randn(12, numLayers * directions, batch, hiddenSize), c0 = Randn(13, numLayers * directions, batch, hiddenSize);
        foreach ((bool bias, Nonlinearity nonlinearity) in new[] { (true, Nonlinearity.Tanh), (false, Nonlinearity.Relu) })
        {
            RecurrentLayer Make() => RecurrentLayer.Create(new RecurrentLayerOptions
            {
                CellType = cell, InputSize = inputSize, HiddenSize = hiddenSize, NumLayers = numLayers, Bidirectional = bidirectional,
                Bias = bias, Nonlinearity = cell == CellType.Rnn ? nonlinearity : Nonlinearity.Tanh, Seed = 3,
            }).Eval();

            // From the given state, then (on the same layer, whose lane buffers now hold that call's state) from zeros,
            // which the lane steps write rather than transpose.
            float[][] Run()
            {
                RecurrentLayer layer = Make();
                return [.. LayerResults.Forward(layer, x, h0, cell == CellType.Lstm ? c0 : null), .. LayerResults.Forward(layer, x, null, null)];
            }

            float[][] rowMajor = RunWithLanes(false, Run);
            float[][] inLanes = RunWithLanes(true, Run);
            AssertSame(rowMajor, inLanes, $"{cell} H={hiddenSize} N={batch} bias={bias}");
        }
    }

    [Theory]
    [InlineData(CellType.Lstm, 1, false)]
    [InlineData(CellType.Rnn, 1, false)]
    [InlineData(CellType.Gru, 1, false)]
    [InlineData(CellType.Lstm, 3, true)] // lower layers' outputs in lanes, written there by the steps themselves
    [InlineData(CellType.Rnn, 2, true)]
    [InlineData(CellType.Gru, 2, false)]
    public void VariableLengthsInLanes_KeepFinishedSequencesState(CellType cell, int numLayers, bool bidirectional)
    {
        // Sequences end at different steps: lanes of finished sequences must keep their h and c.
        int[] lengths = [9, 3, 7, 1, 9, 5, 2, 8, 6, 4, 9, 3, 7, 1, 5, 8, 2, 6, 4, 9];
        int states = numLayers * (bidirectional ? 2 : 1);
        Tensor<float> x = Randn(21, 9, lengths.Length, 6);
        Tensor<float> h0 = Randn(22, states, lengths.Length, 7), c0 = Randn(23, states, lengths.Length, 7);
        RecurrentLayer Make() => RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = cell, InputSize = 6, HiddenSize = 7, NumLayers = numLayers, Bidirectional = bidirectional, Seed = 4,
        }).Eval();
        float[][] Run(RecurrentLayer layer) => layer switch
        {
            Lstm lstm => lstm.Forward(x, lengths, h0, c0) is var (o, (h, c)) ? [ToArray(o), ToArray(h), ToArray(c)] : [],
            Rnn rnn => rnn.Forward(x, lengths, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
            Gru gru => gru.Forward(x, lengths, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
            _ => throw new ArgumentOutOfRangeException(nameof(cell)),
        };

        float[][] rowMajor = RunWithLanes(false, () => Run(Make()));
        float[][] inLanes = RunWithLanes(true, () => Run(Make()));
        AssertSame(rowMajor, inLanes, $"{cell} with lengths, {numLayers} layers, bidirectional {bidirectional}");
    }

    [Fact]
    public void StackedLayersInLanes_WithDropoutInTraining_GiveTheRowMajorBits()
    {
        // Stacked layers in lanes hand their outputs on in lanes, except with dropout in training mode, which draws per
        // element of the row-major outputs: then they go through rows, and the draws must be the row-major path's.
        Tensor<float> x = Randn(31, 6, 24, 5), h0 = Randn(32, 6, 24, 7), c0 = Randn(33, 6, 24, 7);
        foreach (bool training in new[] { true, false })
        {
            float[][] Forward()
            {
                var lstm = new Lstm(5, 7, numLayers: 3, bidirectional: true, dropout: 0.4, seed: 6);
                lstm.Train(training);
                lstm.ManualSeed(2);
                return LayerResults.Forward(lstm, x, h0, c0);
            }

            AssertSame(RunWithLanes(false, Forward), RunWithLanes(true, Forward), $"3 layers, dropout 0.4, training {training}");
        }
    }

    [Fact]
    public void LayersInLanes_OnTwoThreads_GiveTheOneThreadBits()
    {
        // Big enough (DirectionPass.MinLaneSplitFlops) for two threads to run the directions side by side, each on
        // scratch of its own, both writing the lanes output that the next layer reads.
        Tensor<float> x = Randn(41, 130, 300, 12), h0 = Randn(42, 4, 300, 6), c0 = Randn(43, 4, 300, 6);
        Assert.True(2.0 * 130 * 300 * 24 * (12 + 6) >= DirectionPass.MinLaneSplitFlops);
        AssertTwoThreadsPairDirectionsInLanes(new Lstm(12, 6, numLayers: 2, bidirectional: true, seed: 8).Eval(), x, h0, c0);
    }

    /// <summary>Runs the two-layer bidirectional <paramref name="layer"/> in lanes on one thread, then on two: both
    /// layers must pair their directions and give the one-thread bits.</summary>
    private static void AssertTwoThreadsPairDirectionsInLanes(RecurrentLayer layer, Tensor<float> x, Tensor<float> h0, Tensor<float>? c0)
    {
        float[][] oneThread = RunWithLanes(true, () => LayerResults.Forward(layer, x, h0, c0));
        layer.MaxDegreeOfParallelism = 2;
        long pairedBefore = DirectionPair.PairedLayers;
        float[][] twoThreads = RunWithLanes(true, () => LayerResults.Forward(layer, x, h0, c0));
        Assert.True(DirectionPair.PairedLayers >= pairedBefore + 2, "the directions did not run side by side");
        LayerResults.AssertBitIdentical(oneThread, twoThreads, "two threads against one, in lanes");
    }

    [Theory]
    [InlineData(false, 16, false)]
    [InlineData(false, 32, true)]
    [InlineData(true, 16, true)]
    public void LayersInLanes_RentAHelperOnlyWithSomethingToSplit(bool bidirectional, int batch, bool rents)
    {
        // GRU 16 → 16 over 300 steps, 14.7 MFLOP a direction at 16 sequences: work enough to split
        // (DirectionPass.MinLaneSplitFlops), but 16 sequences are one vector, and one direction has nothing to pair.
        var config = LayerConfig.Create(new RecurrentLayerOptions { CellType = CellType.Gru, InputSize = 16, HiddenSize = 16, Bidirectional = bidirectional });
        var schedule = new StepSchedule(300, batch);
        Assert.True(2.0 * 300 * 16 * 48 * 32 >= DirectionPass.MinLaneSplitFlops);
        RunWithLanes(true, () =>
        {
            var workspace = new Workspace(config, schedule, parallelism: 2);
            Assert.Equal(LaneSteps.Stride(batch), workspace.LaneStride);
            Assert.Equal(rents, SequenceRunner.CanUseHelpers(config, schedule, workspace));
            return 0;
        });
    }

    [Fact]
    public void SmallBidirectionalLayersInLanes_OnTwoThreads_PairTheDirections()
    {
        // GRU 10 → 10, 2 layers, N = 64, 12 steps: 0.92 and 1.38 MFLOP a direction, enough to pair the directions
        // (DirectionPair.MinDirectionFlops) though on Vector512 lanes too little to split a direction's vectors
        // (DirectionPass.MinLaneSplitFlops): the two bounds are separate.
        Tensor<float> x = Randn(44, 12, 64, 10), h0 = Randn(45, 4, 64, 10);
        double firstLayerFlops = 2.0 * 12 * 64 * 30 * (10 + 10);
        Assert.True(firstLayerFlops >= DirectionPair.MinDirectionFlops);
        Assert.Equal(LaneSteps.Width == LaneWidth.Vector512, firstLayerFlops < DirectionPass.MinLaneSplitFlops);
        AssertTwoThreadsPairDirectionsInLanes(new Gru(10, 10, numLayers: 2, bidirectional: true, seed: 10).Eval(), x, h0, null);
    }

    [Theory]
    [InlineData(CellType.Lstm, 1)]
    [InlineData(CellType.Lstm, 3)]
    [InlineData(CellType.Rnn, 1)]
    [InlineData(CellType.Rnn, 3)]
    [InlineData(CellType.Gru, 1)]
    [InlineData(CellType.Gru, 3)]
    public void LanesSplitBetweenThreads_GiveTheOneThreadBits(CellType cell, int numLayers)
    {
        // 1000 sequences = 63 vectors, split 31 / 32 between two threads; uneven lengths, so the second part's sequences
        // (the shorter ones) end while the first part's still run. One layer: each part's lane buffers are a block of its
        // own; three layers hand their outputs on in lanes, whose rows the parts share. Each layer has the work
        // (DirectionPass.MinLaneSplitFlops) to be split.
        int hiddenSize = cell switch { CellType.Lstm => 8, CellType.Gru => 11, _ => 32 }; // 32 or 33 gates
        int[] lengths = Enumerable.Range(0, 1000).Select(n => 1 + ((n * 37) % 100)).ToArray();
        int gates = hiddenSize * (cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 });
        Assert.True(2.0 * lengths.Sum() * gates * (9 + hiddenSize) >= DirectionPass.MinLaneSplitFlops); // the first layer, the smallest
        Tensor<float> x = Randn(51, 100, 1000, 9);
        Tensor<float> h0 = Randn(52, numLayers, 1000, hiddenSize), c0 = Randn(53, numLayers, 1000, hiddenSize);
        RecurrentLayer layer = RecurrentLayer.Create(new RecurrentLayerOptions { CellType = cell, InputSize = 9, HiddenSize = hiddenSize, NumLayers = numLayers, Seed = 9 }).Eval();
        float[][] Run() => layer switch
        {
            Lstm lstm => lstm.Forward(x, lengths, h0, c0) is var (o, (h, c)) ? [ToArray(o), ToArray(h), ToArray(c)] : [],
            Rnn rnn => rnn.Forward(x, lengths, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
            Gru gru => gru.Forward(x, lengths, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
            _ => throw new ArgumentOutOfRangeException(nameof(cell)),
        };

        float[][] oneThread = RunWithLanes(true, Run);
        layer.MaxDegreeOfParallelism = 2;
        bool saved = DirectionPass.SplitLanesInOwnBlocks;
        try
        {
            foreach (bool ownBlocks in new[] { true, false })
            {
                DirectionPass.SplitLanesInOwnBlocks = ownBlocks;
                long splitBefore = DirectionPass.LaneSplitBlocks;
                float[][] twoThreads = RunWithLanes(true, Run);
                Assert.True(DirectionPass.LaneSplitBlocks >= splitBefore + numLayers, "the lane steps did not run split between threads");
                LayerResults.AssertBitIdentical(oneThread, twoThreads, $"two threads against one, in lanes, parts in own blocks {ownBlocks}");
                AssertSame(RunWithLanes(false, Run), twoThreads, $"row-major against lanes on two threads, parts in own blocks {ownBlocks}");
            }
        }
        finally
        {
            DirectionPass.SplitLanesInOwnBlocks = saved;
        }
    }

    [Theory]
    [InlineData(CellType.Lstm, 5)]
    [InlineData(CellType.Rnn, 16)]
    [InlineData(CellType.Gru, 9)]
    public void StreamedStepsInLanes_GiveTheWholeSequenceBits(CellType cell, int hiddenSize)
    {
        // One step per call (a streaming caller): each call is a one-step block in lanes, the state carried between
        // calls in the caller's state tensors; the outputs and final state must be the whole-sequence call's.
        const int batch = 20, steps = 6, inputSize = 7;
        Tensor<float> x = Randn(61, steps, batch, inputSize);
        RecurrentLayer layer = RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = cell, InputSize = inputSize, HiddenSize = hiddenSize, NumLayers = 2, Seed = 12,
        }).Eval();
        Tensor<float> zeros = Tensor.CreateFromShape<float>([2, batch, hiddenSize]);
        float[][] whole = RunWithLanes(true, () => LayerResults.Forward(layer, x, zeros, cell == CellType.Lstm ? zeros : null));

        float[][] streamed = RunWithLanes<float[][]>(true, () =>
        {
            RecurrentState state = layer.CreateState(batch);
            var outputs = new List<float>();
            for (int t = 0; t < steps; t++)
            {
                outputs.AddRange(ToArray(layer.Step(Tensor.Create(ToArray(x).AsSpan(t * batch * inputSize, batch * inputSize).ToArray(), [1, batch, inputSize]), state)));
            }

            return state.Cell is { } cellState ? [outputs.ToArray(), ToArray(state.Hidden), ToArray(cellState)] : [outputs.ToArray(), ToArray(state.Hidden)];
        });
        LayerResults.AssertBitIdentical(whole, streamed, "one-step calls in lanes against the whole sequence");
    }

    [Fact]
    public void LongTailBatch_PassesRowsBetweenLayers_AndGivesTheRowMajorBits()
    {
        // One sequence of 300 steps and 15 of one: in lanes between layers the buffers would hold 300 steps × 16
        // sequences, 15 times the 315 rows; the layers pass rows instead (each still runs in lanes).
        int[] lengths = [300, .. Enumerable.Repeat(1, 15)];
        var config = LayerConfig.Create(new RecurrentLayerOptions { CellType = CellType.Lstm, InputSize = 4, HiddenSize = 5, NumLayers = 2 });
        RunWithLanes(true, () =>
        {
            int[] batchSizes = [16, .. Enumerable.Repeat(1, 299)];
            Assert.Empty(new Workspace(config, new StepSchedule(batchSizes)).LaneLayerOutputs);
            Assert.Single(new Workspace(config, new StepSchedule(300, 16)).LaneLayerOutputs);
            return 0;
        });

        Tensor<float> x = Randn(71, 300, 16, 4), h0 = Randn(72, 2, 16, 5), c0 = Randn(73, 2, 16, 5);
        var lstm = new Lstm(4, 5, numLayers: 2, seed: 13);
        lstm.Eval();
        float[][] Run() => lstm.Forward(x, lengths, h0, c0) is var (o, (h, c)) ? [ToArray(o), ToArray(h), ToArray(c)] : [];
        AssertSame(RunWithLanes(false, Run), RunWithLanes(true, Run), "a long-tail batch, two layers");
    }

    [Fact]
    public void OnlyFewGatesAndEnoughSequences_RunInLanes()
    {
        // 132 LSTM gates (H = 33) and 129 GRU gates (H = 43) are more than four panels; RNN H = 49 is over the
        // hidden-size bound. Below those, each side of each batch bound (DirectionPass.MinLaneBatch).
        Assert.Equal(0, LanesRun(CellType.Lstm, hiddenSize: 33, batch: 64));
        Assert.Equal(0, LanesRun(CellType.Gru, hiddenSize: 43, batch: 64));
        Assert.Equal(0, LanesRun(CellType.Rnn, hiddenSize: 49, batch: 64));
        // Vector128 quarters stop at the last 4 running sequences, Vector256 halves at the last 8, so smaller batches
        // pay there.
        (CellType Cell, int HiddenSize, int Batch)[] bounds = LaneSteps.Width switch
        {
            LaneWidth.Vector128 =>
            [
                (CellType.Lstm, 6, 2), (CellType.Lstm, 8, 8), (CellType.Lstm, 16, 32), (CellType.Lstm, 32, 48),
                (CellType.Gru, 5, 2), (CellType.Gru, 10, 4), (CellType.Gru, 21, 8), (CellType.Gru, 42, 32),
                (CellType.Rnn, 16, 4), (CellType.Rnn, 24, 32), (CellType.Rnn, 48, 32),
            ],
            LaneWidth.Vector256 =>
            [
                (CellType.Lstm, 6, 4), (CellType.Lstm, 8, 6), (CellType.Lstm, 32, 16),
                (CellType.Gru, 10, 4), (CellType.Gru, 21, 8), (CellType.Gru, 42, 16),
                (CellType.Rnn, 48, 6),
            ],
            _ =>
            [
                (CellType.Lstm, 6, 8), (CellType.Lstm, 8, 16), (CellType.Lstm, 16, 32), (CellType.Lstm, 32, 48),
                (CellType.Gru, 10, 8), (CellType.Gru, 21, 16), (CellType.Gru, 42, 32),
                (CellType.Rnn, 16, 12), (CellType.Rnn, 48, 32),
            ],
        };
        foreach (var (cell, hiddenSize, batch) in bounds)
        {
            Assert.True(LanesRun(cell, hiddenSize, batch) > 0, $"{cell} H={hiddenSize} N={batch} did not run in lanes");
            Assert.True(LanesRun(cell, hiddenSize, batch - 1) == 0, $"{cell} H={hiddenSize} N={batch - 1} ran in lanes");
        }

        static long LanesRun(CellType cell, int hiddenSize, int batch) => RunWithLanes(true, () =>
        {
            long before = DirectionPass.LaneBlocks;
            var layer = RecurrentLayer.Create(new RecurrentLayerOptions { CellType = cell, InputSize = 4, HiddenSize = hiddenSize, Seed = 1 }).Eval();
            _ = LayerResults.Forward(layer, Randn(1, 3, batch, 4), Randn(2, 1, batch, hiddenSize), cell == CellType.Lstm ? Randn(3, 1, batch, hiddenSize) : null);
            return DirectionPass.LaneBlocks - before;
        });
    }

    /// <summary>Runs <paramref name="forward"/> with lane steps forced on or off, and checks that they ran exactly when on.</summary>
    private static T RunWithLanes<T>(bool lanes, Func<T> forward)
    {
        bool? saved = DirectionPass.LanesOverride;
        DirectionPass.LanesOverride = lanes;
        try
        {
            long before = DirectionPass.LaneBlocks;
            T result = forward();
            if (typeof(T) == typeof(float[][]))
            {
                Assert.Equal(lanes, DirectionPass.LaneBlocks > before);
            }

            return result;
        }
        finally
        {
            DirectionPass.LanesOverride = saved;
        }
    }

    /// <summary>Bit for bit where the lane product and the row-major products compute the same chains: where both fuse
    /// (the hardware fuses and the products are not the scalar path's, which multiplies, then adds), and where both
    /// multiply, then add (no fused multiply-adds in hardware, and the lanes on Vector128, which then do not fuse
    /// either). To rounding otherwise: the scalar path on hardware that fuses.</summary>
    private static void AssertSame(float[][] rowMajor, float[][] inLanes, string what)
    {
        bool sameChains = FusedMultiplyAdds.InHardware ? Gemm.BestPath != KernelPath.Scalar : LaneSteps.Width == LaneWidth.Vector128;
        if (sameChains)
        {
            LayerResults.AssertBitIdentical(rowMajor, inLanes, what);
            return;
        }

        Assert.Equal(rowMajor.Length, inLanes.Length);
        for (int i = 0; i < rowMajor.Length; i++)
        {
            Assert.Equal(rowMajor[i].Length, inLanes[i].Length);
            for (int j = 0; j < rowMajor[i].Length; j++)
            {
                Assert.True(Math.Abs(rowMajor[i][j] - inLanes[i][j]) <= 1e-5f, $"{what}: result {i}[{j}] {rowMajor[i][j]} vs {inLanes[i][j]}");
            }
        }
    }

    private static float[] Filled(int length) => Enumerable.Repeat(Sentinel, length).ToArray();
}
