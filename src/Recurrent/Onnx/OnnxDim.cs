namespace Recurrent.Onnx;

/// <summary>
/// One dimension of a graph input or output shape (TensorShapeProto.Dimension): a fixed size, or a symbolic name
/// such as "batch" that the runtime binds per call. Exactly one of <see cref="Value"/> and <see cref="Param"/> is set.
/// </summary>
internal readonly record struct OnnxDim
{
    private OnnxDim(long value, string? param)
    {
        Value = value;
        Param = param;
    }

    /// <summary>The fixed size; meaningful only when <see cref="Param"/> is null.</summary>
    public long Value { get; }

    /// <summary>The symbolic name, or null for a fixed size.</summary>
    public string? Param { get; }

    /// <summary>A fixed, non-negative size.</summary>
    public static implicit operator OnnxDim(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new OnnxDim(value, null);
    }

    /// <summary>A symbolic size, e.g. "seq".</summary>
    public static implicit operator OnnxDim(string param)
    {
        ArgumentException.ThrowIfNullOrEmpty(param);
        return new OnnxDim(0, param);
    }
}
