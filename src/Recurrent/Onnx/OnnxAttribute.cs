namespace Recurrent.Onnx;

/// <summary>
/// One attribute of an ONNX node (AttributeProto), already encoded. Only the kinds the recurrent exporter needs:
/// INT, STRING, INTS and STRINGS.
/// </summary>
internal sealed class OnnxAttribute
{
    // AttributeProto field numbers (onnx.proto).
    private const int NameField = 1;
    private const int IntField = 3;
    private const int StringField = 4;
    private const int IntsField = 8;
    private const int StringsField = 9;
    private const int TypeField = 20;

    // AttributeProto.AttributeType values.
    private const int TypeInt = 2;
    private const int TypeString = 3;
    private const int TypeInts = 7;
    private const int TypeStrings = 8;

    private OnnxAttribute(string name, ProtobufWriter encoded)
    {
        Name = name;
        Encoded = encoded;
    }

    /// <summary>The attribute's name, e.g. "hidden_size".</summary>
    public string Name { get; }

    /// <summary>The AttributeProto message; its name comes first, its type last.</summary>
    public ProtobufWriter Encoded { get; }

    /// <summary>An INT attribute.</summary>
    public static OnnxAttribute Int(string name, long value) =>
        Build(name, TypeInt, w => w.WriteInt64(IntField, value));

    /// <summary>A STRING attribute (UTF-8 bytes).</summary>
    public static OnnxAttribute String(string name, string value) =>
        Build(name, TypeString, w => w.WriteString(StringField, value));

    /// <summary>An INTS attribute, one unpacked field per value.</summary>
    public static OnnxAttribute Ints(string name, params long[] values) =>
        Build(name, TypeInts, w =>
        {
            foreach (long value in values)
            {
                w.WriteInt64(IntsField, value);
            }
        });

    /// <summary>A STRINGS attribute, one field per value.</summary>
    public static OnnxAttribute Strings(string name, params string[] values) =>
        Build(name, TypeStrings, w =>
        {
            foreach (string value in values)
            {
                w.WriteString(StringsField, value);
            }
        });

    private static OnnxAttribute Build(string name, int type, Action<ProtobufWriter> writeValue)
    {
        var writer = new ProtobufWriter();
        writer.WriteString(NameField, name);
        writeValue(writer);
        writer.WriteInt64(TypeField, type);
        return new OnnxAttribute(name, writer);
    }
}
