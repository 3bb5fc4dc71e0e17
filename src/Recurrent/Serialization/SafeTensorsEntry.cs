namespace Recurrent;

/// <summary>
/// One tensor described by a validated SafeTensors header.
/// Invariants: <c>ElementCount</c> is the product of <c>Shape</c> and at most <see cref="Array.MaxLength"/>;
/// <c>End - Begin == ElementCount * SizeOf(DType)</c>; <c>0 &lt;= Begin &lt;= End &lt;=</c> the data buffer length.
/// </summary>
/// <param name="Name">The tensor's name (its key in the header).</param>
/// <param name="DType">The stored element type.</param>
/// <param name="Shape">The dimensions, outermost first; empty for a scalar.</param>
/// <param name="ElementCount">The number of elements (1 for a scalar, 0 if any dimension is 0).</param>
/// <param name="Begin">Offset of the first byte, relative to the start of the data buffer.</param>
/// <param name="End">Offset one past the last byte, relative to the start of the data buffer.</param>
internal sealed record SafeTensorsEntry(
    string Name, SafeTensorsDType DType, long[] Shape, int ElementCount, long Begin, long End)
{
    /// <summary>The number of bytes the tensor occupies in the data buffer.</summary>
    public long ByteCount => End - Begin;

    /// <summary>
    /// The lengths of the <c>Tensor&lt;float&gt;</c> to create: the shape, except that a scalar (shape <c>[]</c>)
    /// becomes <c>[1]</c>, because <c>Tensor.Create</c> has no rank-0 form (empty lengths give an empty rank-1 tensor).
    /// </summary>
    public nint[] TensorLengths()
    {
        if (Shape.Length == 0)
        {
            return [1];
        }

        var lengths = new nint[Shape.Length];
        for (int i = 0; i < Shape.Length; i++)
        {
            lengths[i] = checked((nint)Shape[i]);
        }

        return lengths;
    }
}
