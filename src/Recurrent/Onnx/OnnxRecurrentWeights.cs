namespace Recurrent.Onnx;

/// <summary>
/// Turns one layer's PyTorch parameters into the W, R and B inputs of an ONNX LSTM, GRU or RNN operator.
/// </summary>
/// <remarks>
/// PyTorch stores, per direction, weight_ih (G*H, in), weight_hh (G*H, H), bias_ih (G*H) and bias_hh (G*H), with gate
/// chunks of H rows in the order LSTM i,f,g,o / GRU r,z,n. ONNX wants W (D, G*H, in), R (D, G*H, H) and
/// B (D, 2*G*H) = [Wb | Rb] per direction, with chunks in the order LSTM i,o,f,c / GRU z,r,h. Direction 0 is forward,
/// direction 1 (when bidirectional) is PyTorch's "_reverse". The values are copied bit for bit; only rows move.
/// </remarks>
internal static class OnnxRecurrentWeights
{
    // ONNX chunk j is PyTorch chunk Order[j].
    private static readonly int[] LstmOrder = [0, 3, 1, 2]; // i, o, f, c(=g)
    private static readonly int[] GruOrder = [1, 0, 2];     // z, r, h(=n)
    private static readonly int[] RnnOrder = [0];

    /// <summary>The PyTorch chunk each ONNX gate chunk comes from, for <paramref name="cellType"/>.</summary>
    public static int[] GateOrder(CellType cellType) => cellType switch
    {
        CellType.Lstm => LstmOrder,
        CellType.Gru => GruOrder,
        _ => RnnOrder,
    };

    /// <summary>W, R and (when the layer has biases) B of layer <paramref name="layerIndex"/>, as flat row-major arrays.</summary>
    /// <param name="stateDict">The layer's PyTorch-named parameters.</param>
    /// <param name="cellType">Selects the gate order.</param>
    /// <param name="layerIndex">k in weight_ih_l{k}.</param>
    /// <param name="directions">1 or 2.</param>
    /// <param name="hiddenSize">H: rows per gate chunk.</param>
    /// <param name="hasBias">Whether bias_ih / bias_hh exist; B is null otherwise.</param>
    public static (float[] W, float[] R, float[]? B) ForLayer(
        StateDict stateDict, CellType cellType, int layerIndex, int directions, int hiddenSize, bool hasBias)
    {
        int[] order = GateOrder(cellType);
        var w = new List<float>();
        var r = new List<float>();
        var b = new List<float>();
        for (int direction = 0; direction < directions; direction++)
        {
            string suffix = $"_l{layerIndex}{(direction == 1 ? "_reverse" : "")}";
            w.AddRange(Reorder(Read(stateDict, "weight_ih" + suffix), order, hiddenSize));
            r.AddRange(Reorder(Read(stateDict, "weight_hh" + suffix), order, hiddenSize));
            if (hasBias)
            {
                b.AddRange(Reorder(Read(stateDict, "bias_ih" + suffix), order, hiddenSize));
                b.AddRange(Reorder(Read(stateDict, "bias_hh" + suffix), order, hiddenSize));
            }
        }

        return ([.. w], [.. r], hasBias ? [.. b] : null);
    }

    /// <summary>
    /// Moves gate chunks: the result's chunk j is <paramref name="source"/>'s chunk order[j]. A chunk is
    /// <paramref name="hiddenSize"/> rows of source.Length / (chunks * hiddenSize) values each (1 for a bias).
    /// </summary>
    public static float[] Reorder(ReadOnlySpan<float> source, ReadOnlySpan<int> order, int hiddenSize)
    {
        int chunkLength = source.Length / order.Length;
        if (chunkLength * order.Length != source.Length || chunkLength % hiddenSize != 0)
        {
            throw new ArgumentException($"{source.Length} values do not split into {order.Length} gate chunks of {hiddenSize} rows.", nameof(source));
        }

        var result = new float[source.Length];
        for (int chunk = 0; chunk < order.Length; chunk++)
        {
            source.Slice(order[chunk] * chunkLength, chunkLength).CopyTo(result.AsSpan(chunk * chunkLength));
        }

        return result;
    }

    private static float[] Read(StateDict stateDict, string name)
    {
        if (!stateDict.TryGetValue(name, out var tensor))
        {
            throw new InvalidOperationException($"The layer's state dict has no parameter '{name}'.");
        }

        var data = new float[tensor.FlattenedLength];
        tensor.FlattenTo(data);
        return data;
    }
}
