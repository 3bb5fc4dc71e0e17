using System.Numerics.Tensors;
using Recurrent.Tests.Reference;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.PyTorch;

/// <summary>
/// The library against PyTorch 1.13's own outputs (files from tests/pytorch/generate_reference.py), within
/// atol 1e-5, rtol 1e-4. Every case builds the module from the file's configuration, loads PyTorch's state dict
/// strictly, runs in evaluation mode and compares output and final states.
/// </summary>
public class PyTorchReferenceTests
{
    public static TheoryData<string> Cases() => new(ReferenceCase.CaseNames());

    [Theory]
    [MemberData(nameof(Cases))]
    public void Module_PyTorchCase_MatchesPyTorch(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        if (c.IsCell)
        {
            RunCell(c);
        }
        else
        {
            RunLayer(c);
        }
    }

    /// <summary>The double-precision oracle used by the random-configuration tests reads the contract as PyTorch does.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ScalarReference_PyTorchCase_MatchesPyTorch(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        RecurrentLayerOptions options = c.Options();
        Tensor<float> input = c["input"]!;
        ReadOnlySpan<nint> shape = input.Lengths;
        bool batched = shape.Length == (c.IsCell ? 2 : 3);
        int steps = c.IsCell ? 1 : (int)(batched && options.BatchFirst ? shape[1] : shape[0]);
        int batch = !batched ? 1 : (int)(c.IsCell || !options.BatchFirst ? shape[c.IsCell ? 0 : 1] : shape[0]);
        float[] x = ToArray(input);
        if (batched && options.BatchFirst && !c.IsCell)
        {
            x = SwapLeading(x, batch, steps, options.InputSize);
        }

        StateDict weights = c.Parameters();
        if (c.IsCell)
        {
            // The oracle names layer parameters; a cell is layer 0 of a one-layer stack.
            weights = new StateDict(weights.Select(kv => KeyValuePair.Create(kv.Key + "_l0", kv.Value)));
        }

        var result = ReferenceRecurrent.Run(options, weights, x, steps, batch, OptionalArray(c["h0"]), OptionalArray(c["c0"]));
        if (c.IsCell)
        {
            Tolerance.AssertClose(ToArray(c["h_out"]!), Array.ConvertAll(result.Hidden, v => (float)v), name + " h'");
            if (c["c_out"] is { } cOut)
            {
                Tolerance.AssertClose(ToArray(cOut), Array.ConvertAll(result.Cell, v => (float)v), name + " c'");
            }

            return;
        }

        float[] expectedOutput = ToArray(c["output"]!);
        if (batched && options.BatchFirst)
        {
            expectedOutput = SwapLeading(expectedOutput, batch, steps, expectedOutput.Length / (batch * steps));
        }

        Tolerance.AssertClose(expectedOutput, Array.ConvertAll(result.Output, v => (float)v), name + " output");
        Tolerance.AssertClose(ToArray(c["h_n"]!), Array.ConvertAll(result.Hidden, v => (float)v), name + " h_n");
        if (c["c_n"] is { } cn)
        {
            Tolerance.AssertClose(ToArray(cn), Array.ConvertAll(result.Cell, v => (float)v), name + " c_n");
        }
    }

    [Fact]
    public void ReferenceData_CoversTheCoreIssuesCases()
    {
        var metadata = ReferenceCase.CaseNames().Select(n => ReferenceCase.Load(n).Metadata).ToList();
        bool Any(Func<IReadOnlyDictionary<string, string>, bool> predicate) => metadata.Any(predicate);
        foreach (string module in new[] { "RNN", "GRU", "LSTM" })
        {
            Assert.True(Any(m => m["module"] == module && m["batch_first"] == "true"), $"{module} batch-first");
            Assert.True(Any(m => m["module"] == module && m["bidirectional"] == "true"), $"{module} bidirectional");
            Assert.True(Any(m => m["module"] == module && m["bias"] == "false"), $"{module} without bias");
            Assert.True(Any(m => m["module"] == module && m["num_layers"] == "3"), $"{module} three layers");
            Assert.True(Any(m => m["module"] == module && m["has_state"] == "true"), $"{module} with state");
            Assert.True(Any(m => m["module"] == module && m["has_state"] == "false"), $"{module} without state");
            Assert.True(Any(m => m["module"] == module + "Cell"), $"{module}Cell");
        }

        Assert.True(Any(m => m["module"] == "RNN" && m["nonlinearity"] == "relu"), "RNN relu");
        Assert.True(Any(m => m["module"] == "LSTM" && m["proj_size"] != "0"), "LSTM projection");
        Assert.True(ReferenceCase.CaseNames().Any(n => ReferenceCase.Load(n)["input"]!.Lengths[0] >= 500), "a sequence of 500 steps or more");
    }

    /// <summary>Builds the layer from the case's configuration, loads its state dict strictly, runs it in evaluation mode
    /// (with its weights in <paramref name="format"/>) and compares every output.</summary>
    internal static void RunLayer(ReferenceCase c, WeightFormat format = WeightFormat.Float32)
    {
        RecurrentLayer layer = RecurrentLayer.Create(c.Options()).Eval();
        layer.LoadStateDict(c.Parameters());
        layer.WeightFormat = format;
        Tensor<float> input = c["input"]!;
        Tensor<float>? h0 = c["h0"], c0 = c["c0"];
        (Tensor<float> output, Tensor<float> hn, Tensor<float>? cn) = layer switch
        {
            Lstm lstm => Flatten(lstm.Forward(input, h0, c0)),
            Gru gru => WithoutCell(gru.Forward(input, h0)),
            Rnn rnn => WithoutCell(rnn.Forward(input, h0)),
            _ => throw new InvalidOperationException(),
        };

        AssertMatches(c, "output", output);
        AssertMatches(c, "h_n", hn);
        if (cn is not null)
        {
            AssertMatches(c, "c_n", cn);
        }
    }

    /// <summary>Builds the cell from the case's configuration, loads its state dict strictly, runs one step (with its
    /// weights in <paramref name="format"/>) and compares h' (and c').</summary>
    internal static void RunCell(ReferenceCase c, WeightFormat format = WeightFormat.Float32)
    {
        RecurrentLayerOptions o = c.Options();
        Tensor<float> input = c["input"]!;
        Tensor<float>? h0 = c["h0"], c0 = c["c0"];
        switch (c.Module)
        {
            case "LSTMCell":
            {
                var cell = new LstmCell(o.InputSize, o.HiddenSize, o.Bias) { WeightFormat = format };
                cell.LoadStateDict(c.Parameters());
                var (h, cs) = cell.Forward(input, h0, c0);
                AssertMatches(c, "h_out", h);
                AssertMatches(c, "c_out", cs);
                break;
            }

            case "GRUCell":
            {
                var cell = new GruCell(o.InputSize, o.HiddenSize, o.Bias) { WeightFormat = format };
                cell.LoadStateDict(c.Parameters());
                AssertMatches(c, "h_out", cell.Forward(input, h0));
                break;
            }

            default:
            {
                var cell = new RnnCell(o.InputSize, o.HiddenSize, o.Bias, o.Nonlinearity) { WeightFormat = format };
                cell.LoadStateDict(c.Parameters());
                AssertMatches(c, "h_out", cell.Forward(input, h0));
                break;
            }
        }
    }

    internal static void AssertMatches(ReferenceCase c, string name, Tensor<float> actual)
    {
        Tensor<float> expected = c[name] ?? throw new InvalidDataException($"{c.Name} has no '{name}'.");
        Assert.Equal(expected.Lengths.ToArray(), actual.Lengths.ToArray());
        Tolerance.AssertClose(ToArray(expected), ToArray(actual), $"{c} {name}");
    }

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) Flatten((Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) r) =>
        (r.Output, r.State.H, r.State.C);

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) WithoutCell((Tensor<float> Output, Tensor<float> Hidden) r) =>
        (r.Output, r.Hidden, null);

    private static float[]? OptionalArray(Tensor<float>? t) => t is null ? null : ToArray(t);
}
