namespace Recurrent.Onnx;

/// <summary>
/// Exports an <see cref="Rnn"/>, <see cref="Gru"/> or <see cref="Lstm"/> as an ONNX model (opset 17, IR version 8)
/// that computes the layer's evaluation-mode forward pass: dropout between layers is not exported.
/// </summary>
/// <remarks>
/// <para>Graph interface, with D = 2 if bidirectional else 1, L = NumLayers, H = HiddenSize, "seq" and "batch" symbolic:
/// input X (seq, batch, InputSize) — always sequence-first, whatever <see cref="RecurrentLayer.BatchFirst"/> says, as
/// ONNX's recurrent operators are; optionally h0 (D*L, batch, H) and, for LSTM, c0 (D*L, batch, H), else zeros;
/// outputs Y (seq, batch, D*H), Y_h (D*L, batch, H) and, for LSTM, Y_c (D*L, batch, H). Same layout as PyTorch's
/// seq-first forward.</para>
/// <para>Per layer k: one LSTM/GRU/RNN node with initializers W_l{k}, R_l{k}, B_l{k} (B absent without biases);
/// its Y (seq, D, batch, H) goes through Transpose [0,2,1,3] and Reshape [0,0,-1] to (seq, batch, D*H), which feeds
/// layer k+1 or is Y. Its initial states are Slice(h0/c0, axis 0, [k*D, (k+1)*D)) (h0/c0 itself for one layer); its
/// Y_h/Y_c (D, batch, H) are concatenated on axis 0 into Y_h/Y_c (named so directly for one layer).</para>
/// </remarks>
internal static class OnnxExport
{
    public const long IrVersion = 8;
    public const long OpsetVersion = 17;
    public const string ProducerName = "Recurrent";

    /// <summary>The most weights an export writes: 2 GiB of floats less 1 MiB for the graph around them.</summary>
    public const long MaxWeightFloats = (int.MaxValue - (1 << 20)) / sizeof(float);

    /// <summary>Exports <paramref name="layer"/> with inputs X only; initial states are zeros.</summary>
    /// <exception cref="NotSupportedException">An LSTM with a projection (ProjSize &gt; 0): ONNX's LSTM has none.</exception>
    public static byte[] ToOnnx(RecurrentLayer layer) => ToOnnx(layer, initialStateInputs: false);

    /// <summary>Exports <paramref name="layer"/>; with <paramref name="initialStateInputs"/> the graph also takes h0 (and c0).</summary>
    /// <exception cref="NotSupportedException">An LSTM with a projection (ProjSize &gt; 0): ONNX's LSTM has none; or more
    /// than <see cref="MaxWeightFloats"/> parameters.</exception>
    public static byte[] ToOnnx(RecurrentLayer layer, bool initialStateInputs) => ToOnnx(layer, initialStateInputs, MaxWeightFloats);

    /// <summary><see cref="ToOnnx(RecurrentLayer, bool)"/> with the weight limit given (tests lower it: a layer beyond
    /// the real limit needs over 2 GiB of memory).</summary>
    internal static byte[] ToOnnx(RecurrentLayer layer, bool initialStateInputs, long maxWeightFloats)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var (cellType, opType) = layer switch
        {
            Lstm { ProjSize: > 0 } lstm => throw new NotSupportedException(
                $"ONNX export of an LSTM with a projection (ProjSize = {lstm.ProjSize}) is not supported: the ONNX LSTM operator has no projection (weight_hr)."),
            Lstm => (CellType.Lstm, "LSTM"),
            Gru => (CellType.Gru, "GRU"),
            Rnn => (CellType.Rnn, "RNN"),
            _ => throw new NotSupportedException($"ONNX export of {layer.GetType().Name} is not supported."),
        };

        CheckWeightCount(layer.ParameterCount, maxWeightFloats);
        bool isLstm = cellType == CellType.Lstm;
        int layers = layer.NumLayers, hidden = layer.HiddenSize, directions = layer.Bidirectional ? 2 : 1;
        var graph = new OnnxGraphBuilder();
        graph.AddInput("X", OnnxGraphBuilder.Float, "seq", "batch", layer.InputSize);
        if (initialStateInputs)
        {
            graph.AddInput("h0", OnnxGraphBuilder.Float, directions * layers, "batch", hidden);
            if (isLstm)
            {
                graph.AddInput("c0", OnnxGraphBuilder.Float, directions * layers, "batch", hidden);
            }
        }

        // The feature width is written out, not -1: Reshape cannot infer a -1 beside a 0 dimension (a batch of 0).
        graph.AddInt64Initializer("seq_batch_features_shape", 0, 0, directions * hidden);
        if (initialStateInputs && layers > 1)
        {
            graph.AddInt64Initializer("state_axes", 0);
        }

        StateDict parameters = layer.StateDict();
        var attributes = NodeAttributes(layer, directions);
        var finalHidden = new List<string>();
        var finalCell = new List<string>();
        string x = "X";
        for (int k = 0; k < layers; k++)
        {
            var (w, r, b) = OnnxRecurrentWeights.ForLayer(parameters, cellType, k, directions, hidden, layer.HasBias);
            int gateRows = OnnxRecurrentWeights.GateOrder(cellType).Length * hidden;
            int inputWidth = k == 0 ? layer.InputSize : directions * hidden;
            graph.AddFloatInitializer($"W_l{k}", w, directions, gateRows, inputWidth);
            graph.AddFloatInitializer($"R_l{k}", r, directions, gateRows, hidden);
            if (b is not null)
            {
                graph.AddFloatInitializer($"B_l{k}", b, directions, 2 * gateRows);
            }

            string initialH = "", initialC = "";
            if (initialStateInputs)
            {
                initialH = StateSlice(graph, "h0", k, directions, layers);
                initialC = isLstm ? StateSlice(graph, "c0", k, directions, layers) : "";
            }

            // Operator inputs: X, W, R, B, sequence_lens, initial_h[, initial_c]; trailing omitted ones are dropped.
            var inputs = new List<string> { x, $"W_l{k}", $"R_l{k}", b is null ? "" : $"B_l{k}", "", initialH };
            if (isLstm)
            {
                inputs.Add(initialC);
            }

            while (inputs[^1].Length == 0)
            {
                inputs.RemoveAt(inputs.Count - 1);
            }

            string yh = layers == 1 ? "Y_h" : $"Y_h_l{k}", yc = layers == 1 ? "Y_c" : $"Y_c_l{k}";
            finalHidden.Add(yh);
            finalCell.Add(yc);
            graph.AddNode(opType, $"{opType}_l{k}", inputs, isLstm ? [$"Y_l{k}", yh, yc] : [$"Y_l{k}", yh], attributes);

            // (seq, D, batch, H) → (seq, batch, D, H) → (seq, batch, D*H): forward features first, as PyTorch.
            graph.AddNode("Transpose", $"Transpose_l{k}", [$"Y_l{k}"], [$"Y_transposed_l{k}"], OnnxAttribute.Ints("perm", 0, 2, 1, 3));
            string output = k == layers - 1 ? "Y" : $"output_l{k}";
            graph.AddNode("Reshape", $"Reshape_l{k}", [$"Y_transposed_l{k}", "seq_batch_features_shape"], [output]);
            x = output;
        }

        if (layers > 1)
        {
            graph.AddNode("Concat", "Concat_Y_h", finalHidden, ["Y_h"], OnnxAttribute.Int("axis", 0));
            if (isLstm)
            {
                graph.AddNode("Concat", "Concat_Y_c", finalCell, ["Y_c"], OnnxAttribute.Int("axis", 0));
            }
        }

        graph.AddOutput("Y", OnnxGraphBuilder.Float, "seq", "batch", directions * hidden);
        graph.AddOutput("Y_h", OnnxGraphBuilder.Float, directions * layers, "batch", hidden);
        if (isLstm)
        {
            graph.AddOutput("Y_c", OnnxGraphBuilder.Float, directions * layers, "batch", hidden);
        }

        return graph.ToModel(opType.ToLowerInvariant(), ProducerName, IrVersion, OpsetVersion);
    }

    /// <summary>A protobuf message, and so a model without external data (which this writer does not write), is below
    /// 2 GiB: more than <paramref name="maxFloats"/> weights are refused before anything is written.</summary>
    /// <exception cref="NotSupportedException"><paramref name="parameterCount"/> is above <paramref name="maxFloats"/>.</exception>
    internal static void CheckWeightCount(long parameterCount, long maxFloats)
    {
        if (parameterCount > maxFloats)
        {
            throw new NotSupportedException(
                $"ONNX export of a layer with {parameterCount} parameters is not supported: an ONNX file without external data holds at most {maxFloats} floats of weights (2 GiB).");
        }
    }

    /// <summary>hidden_size, direction, and the operator-specific attributes matching PyTorch's equations.</summary>
    private static OnnxAttribute[] NodeAttributes(RecurrentLayer layer, int directions)
    {
        var attributes = new List<OnnxAttribute>
        {
            OnnxAttribute.Int("hidden_size", layer.HiddenSize),
            OnnxAttribute.String("direction", directions == 2 ? "bidirectional" : "forward"),
        };
        if (layer is Rnn rnn)
        {
            // One activation per direction, as the ONNX RNN operator lists them.
            string activation = rnn.Nonlinearity == Nonlinearity.Relu ? "Relu" : "Tanh";
            attributes.Add(OnnxAttribute.Strings("activations", [.. Enumerable.Repeat(activation, directions)]));
        }
        else if (layer is Gru)
        {
            // PyTorch applies r after the recurrent product: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
            attributes.Add(OnnxAttribute.Int("linear_before_reset", 1));
        }

        return [.. attributes];
    }

    /// <summary>Layer <paramref name="k"/>'s rows [k*D, (k+1)*D) of the graph input <paramref name="state"/>; the input itself for one layer.</summary>
    private static string StateSlice(OnnxGraphBuilder graph, string state, int k, int directions, int layers)
    {
        if (layers == 1)
        {
            return state;
        }

        string starts = $"state_starts_l{k}", ends = $"state_ends_l{k}";
        if (state == "h0")
        {
            // Bounds are shared by the h0 and c0 slices; add them once, with the first (h0) slice.
            graph.AddInt64Initializer(starts, k * directions);
            graph.AddInt64Initializer(ends, (k + 1) * directions);
        }

        string output = $"{state}_l{k}";
        graph.AddNode("Slice", $"Slice_{state}_l{k}", [state, starts, ends, "state_axes"], [output]);
        return output;
    }
}
