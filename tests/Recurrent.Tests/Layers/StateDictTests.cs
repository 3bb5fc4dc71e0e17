using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// Parameter names, order and shapes as PyTorch 1.13 prints them (the expected lists below are PyTorch's
/// <c>[(k, tuple(v.shape)) for k, v in m.state_dict().items()]</c>), and the load contract.
/// </summary>
public class StateDictTests
{
    private static string[] Layout(RecurrentModule module) =>
        module.StateDict().Select(kv => $"{kv.Key} ({string.Join(", ", kv.Value.Lengths.ToArray())})").ToArray();

    private static string[] Names(params (string Name, nint[] Shape)[] entries) =>
        entries.Select(e => $"{e.Name} ({string.Join(", ", e.Shape)})").ToArray();

    [Fact]
    public void Lstm_BidirectionalStackedProjection_NamesOrderAndShapesMatchPyTorch()
    {
        // nn.LSTM(10, 5, num_layers=2, bidirectional=True, proj_size=3)
        (string, nint[])[] expected =
        [
            ("weight_ih_l0", [20, 10]), ("weight_hh_l0", [20, 3]), ("bias_ih_l0", [20]), ("bias_hh_l0", [20]), ("weight_hr_l0", [3, 5]),
            ("weight_ih_l0_reverse", [20, 10]), ("weight_hh_l0_reverse", [20, 3]), ("bias_ih_l0_reverse", [20]), ("bias_hh_l0_reverse", [20]), ("weight_hr_l0_reverse", [3, 5]),
            ("weight_ih_l1", [20, 6]), ("weight_hh_l1", [20, 3]), ("bias_ih_l1", [20]), ("bias_hh_l1", [20]), ("weight_hr_l1", [3, 5]),
            ("weight_ih_l1_reverse", [20, 6]), ("weight_hh_l1_reverse", [20, 3]), ("bias_ih_l1_reverse", [20]), ("bias_hh_l1_reverse", [20]), ("weight_hr_l1_reverse", [3, 5]),
        ];
        Assert.Equal(Names(expected), Layout(new Lstm(10, 5, numLayers: 2, bidirectional: true, projSize: 3)));
    }

    [Fact]
    public void Gru_WithoutBias_HasNoBiasEntries()
    {
        // nn.GRU(7, 4, num_layers=2, bias=False)
        (string, nint[])[] expected = [("weight_ih_l0", [12, 7]), ("weight_hh_l0", [12, 4]), ("weight_ih_l1", [12, 4]), ("weight_hh_l1", [12, 4])];
        Assert.Equal(Names(expected), Layout(new Gru(7, 4, numLayers: 2, bias: false)));
    }

    [Fact]
    public void Rnn_Bidirectional_NamesOrderAndShapesMatchPyTorch()
    {
        // nn.RNN(3, 2, bidirectional=True)
        (string, nint[])[] expected =
        [
            ("weight_ih_l0", [2, 3]), ("weight_hh_l0", [2, 2]), ("bias_ih_l0", [2]), ("bias_hh_l0", [2]),
            ("weight_ih_l0_reverse", [2, 3]), ("weight_hh_l0_reverse", [2, 2]), ("bias_ih_l0_reverse", [2]), ("bias_hh_l0_reverse", [2]),
        ];
        Assert.Equal(Names(expected), Layout(new Rnn(3, 2, bidirectional: true)));
    }

    [Fact]
    public void Cells_UseBareNames()
    {
        // nn.LSTMCell(3, 2); nn.RNNCell(3, 2, bias=False); nn.GRUCell(3, 2)
        Assert.Equal(Names(("weight_ih", [8, 3]), ("weight_hh", [8, 2]), ("bias_ih", [8]), ("bias_hh", [8])), Layout(new LstmCell(3, 2)));
        Assert.Equal(Names(("weight_ih", [2, 3]), ("weight_hh", [2, 2])), Layout(new RnnCell(3, 2, bias: false)));
        Assert.Equal(Names(("weight_ih", [6, 3]), ("weight_hh", [6, 2]), ("bias_ih", [6]), ("bias_hh", [6])), Layout(new GruCell(3, 2)));
    }

    [Fact]
    public void Initialisation_UniformWithinInverseSqrtHidden_AndSeedReproduces()
    {
        var a = new Lstm(16, 25, numLayers: 2, projSize: 7, seed: 42);
        var b = new Lstm(16, 25, numLayers: 2, projSize: 7, seed: 42);
        var c = new Lstm(16, 25, numLayers: 2, projSize: 7, seed: 43);
        float bound = 1f / MathF.Sqrt(25);
        var all = a.StateDict().SelectMany(kv => ToArray(kv.Value)).ToArray();
        Assert.All(all, v => Assert.InRange(v, -bound, bound));

        // Uniform, not clustered: mean near 0, variance near bound²/3, both ends reached.
        double mean = all.Average(v => (double)v);
        double variance = all.Average(v => (v - mean) * (v - mean));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.9 * bound * bound / 3, 1.1 * bound * bound / 3);
        Assert.True(all.Max() > 0.99 * bound && all.Min() < -0.99 * bound);

        Assert.Equal(a.StateDict().SelectMany(kv => ToArray(kv.Value)), b.StateDict().SelectMany(kv => ToArray(kv.Value)));
        Assert.NotEqual(a.StateDict().SelectMany(kv => ToArray(kv.Value)), c.StateDict().SelectMany(kv => ToArray(kv.Value)));
        Assert.Equal(all.Length, a.ParameterCount);
    }

    [Fact]
    public void LoadStateDict_FromAnotherModule_ReproducesItsOutputs()
    {
        var source = new Gru(6, 9, numLayers: 2, bidirectional: true, seed: 1);
        var target = new Gru(6, 9, numLayers: 2, bidirectional: true, seed: 2);
        Tensor<float> x = Randn(3, 5, 2, 6);
        Assert.NotEqual(ToArray(source.Forward(x).Output), ToArray(target.Forward(x).Output));

        LoadStateDictResult result = target.LoadStateDict(source.StateDict());

        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(ToArray(source.Forward(x).Output), ToArray(target.Forward(x).Output));
    }

    [Fact]
    public void StateDict_IsACopy_ChangingItDoesNotChangeTheModule()
    {
        var rnn = new Rnn(4, 3, seed: 5);
        Tensor<float> x = Randn(1, 2, 1, 4);
        float[] before = ToArray(rnn.Forward(x).Output);
        StateDict sd = rnn.StateDict();
        sd["weight_hh_l0"].Fill(100f);
        Assert.Equal(before, ToArray(rnn.Forward(x).Output));
        Assert.NotEqual(100f, ToArray(rnn.StateDict()["weight_hh_l0"])[0]);
    }

    [Fact]
    public void LoadStateDict_StrictWithProblems_ListsEveryOneAndChangesNothing()
    {
        var lstm = new Lstm(4, 3, numLayers: 2, seed: 3);
        var before = lstm.StateDict().Select(kv => ToArray(kv.Value)).ToArray();
        StateDict sd = new Lstm(4, 3, numLayers: 2, seed: 4).StateDict();
        sd.Remove("bias_hh_l1");
        sd.Remove("weight_ih_l0");
        sd.Add("weight_hr_l0", Zeros(2, 3));
        sd["weight_hh_l1"] = Zeros(12, 4);

        var ex = Assert.Throws<StateDictMismatchException>(() => lstm.LoadStateDict(sd));

        Assert.Equal("stateDict", ex.ParamName);
        Assert.Equal(["weight_ih_l0", "bias_hh_l1"], ex.MissingKeys);
        Assert.Equal(["weight_hr_l0"], ex.UnexpectedKeys);
        Assert.Single(ex.ShapeMismatches);
        Assert.Contains("Missing key(s): \"weight_ih_l0\", \"bias_hh_l1\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Unexpected key(s): \"weight_hr_l0\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("weight_hh_l1: expected shape (12, 3), got (12, 4)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, lstm.StateDict().Select(kv => ToArray(kv.Value)).ToArray());
    }

    [Fact]
    public void LoadStateDict_NonStrict_LoadsWhatFitsAndReportsTheRest()
    {
        var lstm = new Lstm(4, 3, seed: 3);
        float[] keptBias = ToArray(lstm.StateDict()["bias_hh_l0"]);
        StateDict sd = new Lstm(4, 3, seed: 4).StateDict();
        float[] newWeights = ToArray(sd["weight_hh_l0"]);
        sd.Remove("bias_hh_l0");
        sd.Add("extra", Zeros(1));

        LoadStateDictResult result = lstm.LoadStateDict(sd, strict: false);

        Assert.Equal(["bias_hh_l0"], result.MissingKeys);
        Assert.Equal(["extra"], result.UnexpectedKeys);
        Assert.Equal(newWeights, ToArray(lstm.StateDict()["weight_hh_l0"]));
        Assert.Equal(keptBias, ToArray(lstm.StateDict()["bias_hh_l0"]));
    }

    [Fact]
    public void LoadStateDict_NonStrictShapeMismatch_StillThrows()
    {
        var rnn = new Rnn(4, 3);
        var sd = new StateDict { { "weight_hh_l0", Zeros(3, 4) } };
        var ex = Assert.Throws<StateDictMismatchException>(() => rnn.LoadStateDict(sd, strict: false));
        Assert.Contains("weight_hh_l0: expected shape (3, 3), got (3, 4)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadStateDict_NonDenseTensor_IsReadInLogicalOrder()
    {
        var rnn = new Rnn(2, 2, bias: false, seed: 1);
        float[] big = [1, 2, 9, 3, 4, 9, 5, 6, 9, 7, 8, 9];

        // A (2, 2) view with row stride 3 skips the 9s: weight_hh = [[1, 2], [3, 4]].
        Tensor<float> strided = Tensor.Create(big, 0, [2, 2], [3, 1]);
        var sd = rnn.StateDict();
        sd["weight_hh_l0"] = strided;
        rnn.LoadStateDict(sd);
        Assert.Equal([1f, 2f, 3f, 4f], ToArray(rnn.StateDict()["weight_hh_l0"]));
    }

    [Fact]
    public void SelectPrefix_KeepsMatchingEntriesInOrderWithoutThePrefix()
    {
        var sd = new StateDict
        {
            { "encoder.rnn.weight_ih_l0", Zeros(2, 3) }, { "head.weight", Zeros(1) }, { "encoder.rnn.weight_hh_l0", Zeros(2, 2) },
        };
        Assert.Equal(["weight_ih_l0", "weight_hh_l0"], sd.SelectPrefix("encoder.rnn.").Keys);
        Assert.Same(sd["head.weight"], sd.SelectPrefix("head.")["weight"]);
    }
}
