using System.Globalization;
using System.Numerics.Tensors;

namespace Recurrent.Benchmarks.Compare;

/// <summary>The outputs every library's run is checked against: output (L, N, D·H), h_n and (LSTM) c_n, flattened.</summary>
internal sealed record CaseOutputs(float[] Output, float[] Hidden, float[]? Cell)
{
    /// <summary>Largest |a − b| over output, h_n and c_n; +∞ when a shape differs (a length mismatch is never a pass).</summary>
    public double MaxAbsDiff(CaseOutputs other)
    {
        double max = 0;
        foreach (var (mine, theirs) in new[] { (Output, other.Output), (Hidden, other.Hidden), (Cell ?? [], other.Cell ?? []) })
        {
            if (mine.Length != theirs.Length)
            {
                return double.PositiveInfinity;
            }

            for (int i = 0; i < mine.Length; i++)
            {
                // NaN anywhere must fail the check too: Math.Max propagates it, and NaN > tolerance is false.
                double diff = Math.Abs((double)mine[i] - theirs[i]);
                max = double.IsNaN(diff) ? double.PositiveInfinity : Math.Max(max, diff);
            }
        }

        return max;
    }

    public static CaseOutputs From(Tensor<float> output, Tensor<float> hidden, Tensor<float>? cell) =>
        new(ToArray(output), ToArray(hidden), cell is null ? null : ToArray(cell));

    public static float[] ToArray(Tensor<float> tensor)
    {
        var data = new float[tensor.FlattenedLength];
        tensor.FlattenTo(data);
        return data;
    }
}

/// <summary>
/// One shape's inputs for every library, in one SafeTensors file: the weights under <c>param.</c> with PyTorch's names,
/// <c>input</c> (L, N, H_in), and our evaluation-mode Forward's outputs as <c>expected.output</c>,
/// <c>expected.h_n</c>, <c>expected.c_n</c>. The metadata holds the layer's configuration for the PyTorch script
/// (benchmarks/pytorch_peer.py reads this layout). All libraries therefore run the same weights on the same input.
/// </summary>
internal static class CaseFile
{
    private const string ParameterPrefix = "param.";

    /// <summary>Builds the shape's layer (seed 1, Eval) and input (seed 1), runs our Forward as the reference, writes the file.</summary>
    public static void Create(string path, CompareShape shape)
    {
        SuiteShape s = shape.Shape;
        RecurrentLayer layer = s.CreateLayer();
        var random = new Random(1);
        var input = new float[s.Steps * s.Batch * s.InputSize];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = random.NextSingle() * 2 - 1;
        }

        Tensor<float> x = Tensor.Create(input, [s.Steps, s.Batch, s.InputSize]);
        CaseOutputs expected = OursRunner.Forward(layer, x);
        var tensors = new List<KeyValuePair<string, Tensor<float>>>();
        tensors.AddRange(layer.StateDict().Select(entry => KeyValuePair.Create(ParameterPrefix + entry.Key, entry.Value)));
        tensors.Add(KeyValuePair.Create("input", x));
        int states = (s.Bidirectional ? 2 : 1) * s.Layers;
        tensors.Add(KeyValuePair.Create("expected.output", Tensor.Create(expected.Output, [s.Steps, s.Batch, (s.Bidirectional ? 2 : 1) * s.HiddenSize])));
        tensors.Add(KeyValuePair.Create("expected.h_n", Tensor.Create(expected.Hidden, [states, s.Batch, s.HiddenSize])));
        if (expected.Cell is not null)
        {
            tensors.Add(KeyValuePair.Create("expected.c_n", Tensor.Create(expected.Cell, [states, s.Batch, s.HiddenSize])));
        }

        var metadata = new Dictionary<string, string>
        {
            ["id"] = shape.Id,
            ["cell"] = s.Cell switch { CellType.Lstm => "lstm", CellType.Gru => "gru", _ => "rnn" },
            ["nonlinearity"] = s.Nonlinearity == Nonlinearity.Relu ? "relu" : "tanh",
            ["input_size"] = s.InputSize.ToString(CultureInfo.InvariantCulture),
            ["hidden_size"] = s.HiddenSize.ToString(CultureInfo.InvariantCulture),
            ["num_layers"] = s.Layers.ToString(CultureInfo.InvariantCulture),
            ["bidirectional"] = s.Bidirectional ? "true" : "false",
            ["streaming"] = shape.Streaming ? "true" : "false",
        };
        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Reads a file written by <see cref="Create"/>: the shape's layer with the file's weights, the input, and the expected outputs.</summary>
    public static (RecurrentLayer Layer, Tensor<float> Input, CaseOutputs Expected) Read(string path, CompareShape shape)
    {
        StateDict file = SafeTensors.Load(path, out IReadOnlyDictionary<string, string> metadata);
        if (!metadata.TryGetValue("id", out string? id) || id != shape.Id)
        {
            throw new InvalidDataException($"{path} holds shape {id ?? "(none)"}, not {shape.Id}.");
        }

        // Seed 2: the weights below must replace the layer's own; a strict load fails on any missing or extra name.
        RecurrentLayer layer = RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = shape.Shape.Cell, Nonlinearity = shape.Shape.Nonlinearity, InputSize = shape.Shape.InputSize,
            HiddenSize = shape.Shape.HiddenSize, NumLayers = shape.Shape.Layers, Bidirectional = shape.Shape.Bidirectional, Seed = 2,
        }).Eval();
        layer.LoadStateDict(file.SelectPrefix(ParameterPrefix));
        var expected = CaseOutputs.From(
            file["expected.output"], file["expected.h_n"], file.TryGetValue("expected.c_n", out Tensor<float>? cell) ? cell : null);
        return (layer, file["input"], expected);
    }
}
