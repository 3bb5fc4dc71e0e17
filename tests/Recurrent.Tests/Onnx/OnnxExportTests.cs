using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Recurrent.Onnx;

namespace Recurrent.Tests.Onnx;

/// <summary>
/// The exported ONNX graph, run in ONNX Runtime, reproduces the layer's own evaluation-mode forward pass: Y, Y_h and
/// (LSTM) Y_c within the library's usual tolerance, for every cell kind, stacked and bidirectional layers, with and
/// without biases and initial states.
/// </summary>
public sealed class OnnxExportTests
{
    private const int InputSize = 5;
    private const int HiddenSize = 7;
    private const int Steps = 6;
    private const int Batch = 3;

    /// <summary>
    /// Kinds × layers 1..3 × bidirectional × bias, halved by parity (every kind and layer count still sees both
    /// directions and both bias settings), each with and without h0/c0 inputs: 48 cases.
    /// </summary>
    public static TheoryData<string, int, bool, bool, bool> Configurations()
    {
        var data = new TheoryData<string, int, bool, bool, bool>();
        string[] kinds = ["lstm", "gru", "rnn_tanh", "rnn_relu"];
        for (int kind = 0; kind < kinds.Length; kind++)
        {
            for (int layers = 1; layers <= 3; layers++)
            {
                foreach (bool bidirectional in new[] { false, true })
                {
                    foreach (bool bias in new[] { false, true })
                    {
                        if ((kind + layers + (bidirectional ? 1 : 0) + (bias ? 1 : 0)) % 2 != 0)
                        {
                            continue;
                        }

                        data.Add(kinds[kind], layers, bidirectional, bias, false);
                        data.Add(kinds[kind], layers, bidirectional, bias, true);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [Trait(OnnxRuntimeRunner.Trait, OnnxRuntimeRunner.TraitValue)]
    [MemberData(nameof(Configurations))]
    public void OnnxRuntimeMatchesForward(string kind, int layers, bool bidirectional, bool bias, bool withInitialState)
    {
        RecurrentLayer layer = CreateLayer(kind, layers, bidirectional, bias, batchFirst: false, seed: 11 * layers + kind.Length);
        byte[] model = OnnxExport.ToOnnx(layer, withInitialState);
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        CompareWithForward(session, layer, withInitialState, Steps, Batch, seed: layers * 100 + (bias ? 10 : 0), kind);
    }

    [Fact]
    [Trait(OnnxRuntimeRunner.Trait, OnnxRuntimeRunner.TraitValue)]
    public void SequenceAndBatchAreSymbolic()
    {
        RecurrentLayer layer = CreateLayer("gru", 2, bidirectional: true, bias: true, batchFirst: false, seed: 3);
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(OnnxExport.ToOnnx(layer, initialStateInputs: true), options);
        CompareWithForward(session, layer, withInitialState: true, steps: 1, batch: 1, seed: 1, "L=1 N=1");
        CompareWithForward(session, layer, withInitialState: true, steps: 8, batch: 4, seed: 2, "L=8 N=4");
    }

    [Fact]
    [Trait(OnnxRuntimeRunner.Trait, OnnxRuntimeRunner.TraitValue)]
    public void BatchFirstLayerIsExportedSequenceFirst()
    {
        var layer = (Lstm)CreateLayer("lstm", 2, bidirectional: true, bias: true, batchFirst: true, seed: 5);
        Tensor<float> seqFirst = TestTensors.Randn(6, Steps, Batch, InputSize);
        float[] batchMajor = TestTensors.SwapLeading(TestTensors.ToArray(seqFirst), Steps, Batch, InputSize);
        var (output, (h, c)) = layer.Forward(Tensor.Create(batchMajor, [Batch, Steps, InputSize]));

        var results = OnnxRuntimeRunner.Run(
            OnnxExport.ToOnnx(layer), new Dictionary<string, (float[], long[])> { ["X"] = (TestTensors.ToArray(seqFirst), [Steps, Batch, InputSize]) },
            "Y", "Y_h", "Y_c");

        int width = 2 * HiddenSize;
        Tolerance.AssertClose(TestTensors.SwapLeading(TestTensors.ToArray(output), Batch, Steps, width), results["Y"].Data, "Y");
        Tolerance.AssertClose(TestTensors.ToArray(h), results["Y_h"].Data, "Y_h");
        Tolerance.AssertClose(TestTensors.ToArray(c), results["Y_c"].Data, "Y_c");
    }

    /// <summary>A batch of no sequences runs, as the layer's own forward pass does (PyTorch: Y (L, 0, D·H)). Only for RNN:
    /// ONNX Runtime 1.32's own LSTM and GRU kernels abort the process at a batch of 0.</summary>
    [Fact]
    [Trait(OnnxRuntimeRunner.Trait, OnnxRuntimeRunner.TraitValue)]
    public void RnnAtAnEmptyBatch_OnnxRuntime_ReturnsOutputsWithNoElements()
    {
        RecurrentLayer layer = CreateLayer("rnn_tanh", 2, bidirectional: true, bias: true, batchFirst: false, seed: 4);
        var (output, hidden) = ((Rnn)layer).Forward(Tensor.CreateFromShape<float>([3, 0, InputSize]));

        var results = OnnxRuntimeRunner.Run(
            OnnxExport.ToOnnx(layer), new Dictionary<string, (float[], long[])> { ["X"] = ([], [3, 0, InputSize]) }, "Y", "Y_h");

        Assert.Equal([3, 0, 2 * HiddenSize], results["Y"].Shape);
        Assert.Equal([4, 0, HiddenSize], results["Y_h"].Shape);
        Assert.Equal(output.Lengths.ToArray().Select(n => (long)n), results["Y"].Shape);
        Assert.Equal(hidden.Lengths.ToArray().Select(n => (long)n), results["Y_h"].Shape);
    }

    [Fact]
    public void Export_WeightsAboveTheLimit_IsNotSupported_AtTheLimit_Exports()
    {
        var layer = new Gru(InputSize, HiddenSize, seed: 1);
        Assert.NotEmpty(OnnxExport.ToOnnx(layer, initialStateInputs: false, maxWeightFloats: layer.ParameterCount));
        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.ToOnnx(layer, initialStateInputs: false, maxWeightFloats: layer.ParameterCount - 1));
        Assert.Contains("2 GiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportIsDeterministic()
    {
        RecurrentLayer layer = CreateLayer("lstm", 3, bidirectional: true, bias: true, batchFirst: false, seed: 9);
        RecurrentLayer twin = CreateLayer("lstm", 3, bidirectional: true, bias: true, batchFirst: false, seed: 9);
        byte[] first = OnnxExport.ToOnnx(layer, initialStateInputs: true);

        Assert.Equal(first, OnnxExport.ToOnnx(layer, initialStateInputs: true));
        Assert.Equal(first, OnnxExport.ToOnnx(twin, initialStateInputs: true));
        Assert.NotEqual(first, OnnxExport.ToOnnx(layer));
    }

    [Fact]
    public void ProjectedLstmIsNotSupported()
    {
        var layer = new Lstm(InputSize, HiddenSize, projSize: 3, seed: 1);

        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.ToOnnx(layer));
        Assert.Contains("projection", error.Message, StringComparison.Ordinal);
    }

    private static RecurrentLayer CreateLayer(string kind, int layers, bool bidirectional, bool bias, bool batchFirst, int seed) =>
        RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = kind switch { "lstm" => CellType.Lstm, "gru" => CellType.Gru, _ => CellType.Rnn },
            Nonlinearity = kind == "rnn_relu" ? Nonlinearity.Relu : Nonlinearity.Tanh,
            InputSize = InputSize,
            HiddenSize = HiddenSize,
            NumLayers = layers,
            Bidirectional = bidirectional,
            Bias = bias,
            BatchFirst = batchFirst,
            Dropout = layers > 1 ? 0.25 : 0, // eval mode: dropout must not show up in either result
            Seed = seed,
        }).Eval();

    /// <summary>Runs the layer and the session on the same random seq-first input (and states) and compares every output.</summary>
    private static void CompareWithForward(InferenceSession session, RecurrentLayer layer, bool withInitialState, int steps, int batch, int seed, string context)
    {
        bool isLstm = layer is Lstm;
        int states = (layer.Bidirectional ? 2 : 1) * layer.NumLayers;
        Tensor<float> x = TestTensors.Randn(seed, steps, batch, InputSize);
        Tensor<float>? h0 = withInitialState ? TestTensors.Randn(seed + 1, states, batch, HiddenSize) : null;
        Tensor<float>? c0 = withInitialState && isLstm ? TestTensors.Randn(seed + 2, states, batch, HiddenSize) : null;
        var (y, h, c) = layer switch
        {
            Lstm lstm => Unpack(lstm.Forward(x, h0, c0)),
            Gru gru => Unpack(gru.Forward(x, h0)),
            Rnn rnn => Unpack(rnn.Forward(x, h0)),
            _ => throw new ArgumentException(layer.GetType().Name, nameof(layer)),
        };

        var inputs = new Dictionary<string, (float[], long[])> { ["X"] = (TestTensors.ToArray(x), [steps, batch, InputSize]) };
        if (h0 is not null)
        {
            inputs["h0"] = (TestTensors.ToArray(h0), [states, batch, HiddenSize]);
        }

        if (c0 is not null)
        {
            inputs["c0"] = (TestTensors.ToArray(c0), [states, batch, HiddenSize]);
        }

        var results = OnnxRuntimeRunner.Run(session, inputs, isLstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"]);
        Assert.Equal(y.Lengths.ToArray().Select(d => (long)d), results["Y"].Shape);
        Assert.Equal(h.Lengths.ToArray().Select(d => (long)d), results["Y_h"].Shape);
        Tolerance.AssertClose(TestTensors.ToArray(y), results["Y"].Data, $"{context} Y");
        Tolerance.AssertClose(TestTensors.ToArray(h), results["Y_h"].Data, $"{context} Y_h");
        if (c is not null)
        {
            Tolerance.AssertClose(TestTensors.ToArray(c), results["Y_c"].Data, $"{context} Y_c");
        }
    }

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) Unpack((Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) r) =>
        (r.Output, r.State.H, r.State.C);

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) Unpack((Tensor<float> Output, Tensor<float> Hidden) r) =>
        (r.Output, r.Hidden, null);
}
