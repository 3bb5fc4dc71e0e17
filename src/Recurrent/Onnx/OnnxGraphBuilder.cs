using System.Buffers.Binary;

namespace Recurrent.Onnx;

/// <summary>
/// Collects the parts of one ONNX graph — nodes, initializers, graph inputs and outputs — and encodes them as a
/// ModelProto. Nodes must be added in a topological order (each node after the producers of its inputs), which is
/// what ONNX requires of a graph's node list. Only float and int64 tensors are supported.
/// </summary>
/// <remarks>
/// Output is deterministic: parts are written in insertion order, grouped by field number (nodes, name,
/// initializers, inputs, outputs), with no timestamps or random identifiers.
/// </remarks>
internal sealed class OnnxGraphBuilder
{
    // TensorProto.DataType values.
    public const int Float = 1;
    public const int Int64 = 7;

    private readonly List<ProtobufWriter> _nodes = [];
    private readonly List<ProtobufWriter> _initializers = [];
    private readonly List<ProtobufWriter> _inputs = [];
    private readonly List<ProtobufWriter> _outputs = [];
    private readonly HashSet<string> _initializerNames = new(StringComparer.Ordinal);

    /// <summary>Adds a node (NodeProto). An empty string in <paramref name="inputs"/> or <paramref name="outputs"/> marks an omitted optional one.</summary>
    public void AddNode(string opType, string name, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes)
    {
        // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5.
        var node = new ProtobufWriter();
        foreach (string input in inputs)
        {
            node.WriteString(1, input);
        }

        foreach (string output in outputs)
        {
            node.WriteString(2, output);
        }

        node.WriteString(3, name);
        node.WriteString(4, opType);
        foreach (OnnxAttribute attribute in attributes)
        {
            node.WriteMessage(5, attribute.Encoded);
        }

        _nodes.Add(node);
    }

    /// <summary>Adds a float initializer; <paramref name="data"/> is row-major with <paramref name="dims"/>' product elements.</summary>
    public void AddFloatInitializer(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        CheckElementCount(name, data.Length, dims);
        var raw = new byte[data.Length * sizeof(float)];
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), data[i]);
        }

        AddInitializer(name, Float, raw, dims);
    }

    /// <summary>Adds a 1-D int64 initializer (shapes, slice bounds, axes).</summary>
    public void AddInt64Initializer(string name, params long[] values)
    {
        var raw = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
        }

        AddInitializer(name, Int64, raw, values.Length);
    }

    /// <summary>Declares a graph input (ValueInfoProto) of element type <paramref name="elemType"/> and the given shape.</summary>
    public void AddInput(string name, int elemType, params OnnxDim[] shape) => _inputs.Add(ValueInfo(name, elemType, shape));

    /// <summary>Declares a graph output; a node must produce a value of this name.</summary>
    public void AddOutput(string name, int elemType, params OnnxDim[] shape) => _outputs.Add(ValueInfo(name, elemType, shape));

    /// <summary>Encodes the ModelProto: ir_version, producer_name, the graph, and one opset import for the default domain.</summary>
    public byte[] ToModel(string graphName, string producerName, long irVersion, long opsetVersion)
    {
        // GraphProto: node=1, name=2, initializer=5, input=11, output=12.
        var graph = new ProtobufWriter();
        _nodes.ForEach(node => graph.WriteMessage(1, node));
        graph.WriteString(2, graphName);
        _initializers.ForEach(tensor => graph.WriteMessage(5, tensor));
        _inputs.ForEach(input => graph.WriteMessage(11, input));
        _outputs.ForEach(output => graph.WriteMessage(12, output));

        // OperatorSetIdProto: domain=1 ("" is the default ai.onnx domain), version=2.
        var opset = new ProtobufWriter();
        opset.WriteString(1, "");
        opset.WriteInt64(2, opsetVersion);

        // ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8.
        var model = new ProtobufWriter();
        model.WriteInt64(1, irVersion);
        model.WriteString(2, producerName);
        model.WriteMessage(7, graph);
        model.WriteMessage(8, opset);
        return model.ToArray();
    }

    private void AddInitializer(string name, int dataType, byte[] raw, params long[] dims)
    {
        if (!_initializerNames.Add(name))
        {
            throw new InvalidOperationException($"The graph already has an initializer named '{name}'.");
        }

        // TensorProto: dims=1 (packed int64), data_type=2, name=8, raw_data=9 (little-endian element bytes).
        var tensor = new ProtobufWriter();
        tensor.WritePackedInt64(1, dims);
        tensor.WriteInt64(2, dataType);
        tensor.WriteString(8, name);
        tensor.WriteBytes(9, raw);
        _initializers.Add(tensor);
    }

    private static ProtobufWriter ValueInfo(string name, int elemType, OnnxDim[] shape)
    {
        // TensorShapeProto: dim=1 → Dimension: dim_value=1 | dim_param=2.
        var shapeProto = new ProtobufWriter();
        foreach (OnnxDim dim in shape)
        {
            var dimension = new ProtobufWriter();
            if (dim.Param is null)
            {
                dimension.WriteInt64(1, dim.Value);
            }
            else
            {
                dimension.WriteString(2, dim.Param);
            }

            shapeProto.WriteMessage(1, dimension);
        }

        // TypeProto.Tensor: elem_type=1, shape=2; TypeProto: tensor_type=1; ValueInfoProto: name=1, type=2.
        var tensorType = new ProtobufWriter();
        tensorType.WriteInt64(1, elemType);
        tensorType.WriteMessage(2, shapeProto);
        var type = new ProtobufWriter();
        type.WriteMessage(1, tensorType);
        var valueInfo = new ProtobufWriter();
        valueInfo.WriteString(1, name);
        valueInfo.WriteMessage(2, type);
        return valueInfo;
    }

    private static void CheckElementCount(string name, int count, long[] dims)
    {
        long expected = 1;
        foreach (long dim in dims)
        {
            expected *= dim;
        }

        if (expected != count)
        {
            throw new ArgumentException($"Initializer '{name}' has {count} elements but its dims [{string.Join(", ", dims)}] need {expected}.", nameof(dims));
        }
    }
}
