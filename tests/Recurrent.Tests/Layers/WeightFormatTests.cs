using System.Numerics.Tensors;
using Recurrent.Kernels;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// <see cref="RecurrentModule.WeightFormat"/>: a BFloat16 module computes exactly what a Float32 module computes with
/// its weights rounded to bfloat16 (biases untouched), on every kind of layer, storage (compact, or rounded floats for a
/// layer that may run in lanes) and thread count; its parameters keep their floats. (Its steady-state calls allocate
/// nothing: ForwardIntoBuffersTests.)
/// </summary>
public class WeightFormatTests
{
    /// <summary>cell, input, hidden, layers, bidirectional, projection, batch, steps.</summary>
    public static TheoryData<CellType, int, int, int, bool, int, int, int> Layers() => new()
    {
        { CellType.Lstm, 48, 64, 1, false, 0, 1, 9 },    // batch 1: the row kernels
        { CellType.Lstm, 40, 64, 2, true, 24, 5, 7 },    // projection, bidirectional stack
        { CellType.Gru, 50, 80, 1, false, 0, 3, 8 },     // GRU's own recurrent product
        { CellType.Rnn, 300, 300, 1, false, 0, 20, 6 },  // blocked products, k over one K block
        { CellType.Lstm, 10, 8, 1, false, 0, 32, 6 },    // may run in lanes: rounded floats
        { CellType.Rnn, 20, 10, 4, true, 0, 64, 5 },     // the tutorial's stacked RNN, in lanes
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void BFloat16_GivesTheFloatOutputsOfTheRoundedWeights(CellType cell, int input, int hidden, int layers, bool bidirectional, int projection, int batch, int steps)
    {
        RecurrentLayerOptions options = Options(cell, input, hidden, layers, bidirectional, projection);
        RecurrentLayer compact = RecurrentLayer.Create(options).Eval();
        compact.WeightFormat = WeightFormat.BFloat16;
        RecurrentLayer rounded = RecurrentLayer.Create(options).Eval();
        rounded.LoadStateDict(RoundedWeights(compact.StateDict()));
        var (x, h0, c0) = Inputs(options, batch, steps);

        float[][] expected = LayerResults.Forward(rounded, x, h0, c0);
        LayerResults.AssertBitIdentical(expected, LayerResults.Forward(compact, x, h0, c0), "BFloat16 against Float32 with rounded weights");

        // The rounding changes the outputs (or this test could not tell the formats apart).
        RecurrentLayer unrounded = RecurrentLayer.Create(options).Eval();
        Assert.False(expected[0].SequenceEqual(LayerResults.Forward(unrounded, x, h0, c0)[0]), "rounding the weights changed nothing");

        compact.MaxDegreeOfParallelism = 2;
        LayerResults.AssertBitIdentical(expected, LayerResults.Forward(compact, x, h0, c0), "BFloat16 at two threads");
    }

    [Fact]
    public void BFloat16_StoresLargeLayersCompact_AndLaneLayersAsFloats()
    {
        var large = new Lstm(48, 64) { WeightFormat = WeightFormat.BFloat16 };
        Assert.True(large.Parameters.Directions[0].HiddenWeights.IsCompact);
        Assert.True(large.Parameters.Directions[0].JoinedWeights!.IsCompact);

        var small = new Lstm(10, 8) { WeightFormat = WeightFormat.BFloat16 };
        Assert.False(small.Parameters.Directions[0].JoinedWeights!.IsCompact);
        float w = small.Parameters.Directions[0].HiddenWeights.Data[0];
        Assert.Equal(BFloat16.RoundToFloat(w), w);

        var projected = new Lstm(10, 8, projSize: 4) { WeightFormat = WeightFormat.BFloat16 };
        Assert.True(projected.Parameters.Directions[0].ProjectionWeights!.IsCompact);
    }

    [Fact]
    public void Parameters_KeepTheirFloats_AndFloat32AgainGivesTheFloatOutputs()
    {
        var gru = new Gru(50, 80, seed: 3).Eval();
        Tensor<float> x = Randn(1, 6, 2, 50);
        StateDict before = gru.StateDict();
        float[] floatOutput = ToArray(gru.Forward(x).Output);

        gru.WeightFormat = WeightFormat.BFloat16;
        Assert.Equal(WeightFormat.BFloat16, gru.WeightFormat);
        foreach (var (name, tensor) in gru.StateDict())
        {
            Assert.Equal(ToArray(before[name]), ToArray(tensor));
        }

        Assert.False(floatOutput.SequenceEqual(ToArray(gru.Forward(x).Output)));

        // A load keeps the format: the loaded floats are rounded too.
        gru.LoadStateDict(before);
        Assert.Equal(WeightFormat.BFloat16, gru.WeightFormat);
        Assert.False(floatOutput.SequenceEqual(ToArray(gru.Forward(x).Output)));

        gru.WeightFormat = WeightFormat.Float32;
        Assert.Equal(floatOutput, ToArray(gru.Forward(x).Output));
    }

    [Fact]
    public void WeightFormat_Undefined_ThrowsNamingTheValue_AndKeepsTheFormat()
    {
        var rnn = new Rnn(4, 3) { WeightFormat = WeightFormat.BFloat16 };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => rnn.WeightFormat = (WeightFormat)7);
        Assert.Equal("value", error.ParamName);
        Assert.Contains("BFloat16", error.Message, StringComparison.Ordinal);
        Assert.Equal(WeightFormat.BFloat16, rnn.WeightFormat);
    }

    [Fact]
    public void Cells_BFloat16_GiveTheFloatOutputsOfTheRoundedWeights()
    {
        Tensor<float> x = Randn(4, 3, 40), h0 = Randn(5, 3, 64), c0 = Randn(6, 3, 64);

        var lstm = new LstmCell(40, 64) { WeightFormat = WeightFormat.BFloat16 };
        var lstmRounded = new LstmCell(40, 64);
        lstmRounded.LoadStateDict(RoundedWeights(lstm.StateDict()));
        var (h, c) = lstm.Forward(x, h0, c0);
        var (hr, cr) = lstmRounded.Forward(x, h0, c0);
        Assert.Equal(ToArray(hr), ToArray(h));
        Assert.Equal(ToArray(cr), ToArray(c));

        var gru = new GruCell(40, 64) { WeightFormat = WeightFormat.BFloat16 };
        var gruRounded = new GruCell(40, 64);
        gruRounded.LoadStateDict(RoundedWeights(gru.StateDict()));
        Assert.Equal(ToArray(gruRounded.Forward(x, h0)), ToArray(gru.Forward(x, h0)));
    }

    [Fact]
    public void Streaming_BFloat16_MatchesForward()
    {
        var lstm = new Lstm(48, 64, seed: 2) { WeightFormat = WeightFormat.BFloat16 }.Eval();
        Tensor<float> x = Randn(7, 9, 1, 48);
        float[] expected = ToArray(lstm.Forward(x).Output);
        RecurrentState state = lstm.CreateState(1);
        var actual = new List<float>();
        for (int t = 0; t < 9; t++)
        {
            Tensor<float> step = Tensor.Create(ToArray(x).AsSpan(t * 48, 48).ToArray(), [1, 1, 48]);
            actual.AddRange(ToArray(lstm.Step(step, state)));
        }

        Assert.Equal(expected, actual.ToArray());
    }

    private static RecurrentLayerOptions Options(CellType cell, int input, int hidden, int layers, bool bidirectional, int projection) => new()
    {
        CellType = cell,
        InputSize = input,
        HiddenSize = hidden,
        NumLayers = layers,
        Bidirectional = bidirectional,
        ProjSize = projection,
        Nonlinearity = cell == CellType.Rnn && hidden > 100 ? Nonlinearity.Relu : Nonlinearity.Tanh,
        Seed = input + hidden,
    };

    private static (Tensor<float> X, Tensor<float> H0, Tensor<float>? C0) Inputs(RecurrentLayerOptions o, int batch, int steps)
    {
        int states = o.NumLayers * (o.Bidirectional ? 2 : 1);
        int output = o.ProjSize > 0 ? o.ProjSize : o.HiddenSize;
        return (Randn(11, steps, batch, o.InputSize), Randn(12, states, batch, output),
            o.CellType == CellType.Lstm ? Randn(13, states, batch, o.HiddenSize) : null);
    }

    /// <summary>The weights (not the biases) rounded to bfloat16.</summary>
    private static StateDict RoundedWeights(StateDict parameters) => new(parameters.Select(kv => KeyValuePair.Create(
        kv.Key,
        kv.Key.StartsWith("weight", StringComparison.Ordinal)
            ? Tensor.Create(Array.ConvertAll(ToArray(kv.Value), BFloat16.RoundToFloat), kv.Value.Lengths)
            : kv.Value)));
}
