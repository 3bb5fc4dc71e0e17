using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Recurrent.Execution;

/// <summary>Moves data between the public <see cref="Tensor{T}"/> boundary and the spans the kernels read.</summary>
internal static class TensorData
{
    /// <summary>The elements of <paramref name="tensor"/> in row-major order: a view when it is dense, else a copy.</summary>
    public static ReadOnlySpan<float> Read(Tensor<float> tensor)
    {
        int length = checked((int)tensor.FlattenedLength);
        if (length == 0)
        {
            return [];
        }

        if (tensor.IsDense)
        {
            return MemoryMarshal.CreateReadOnlySpan(ref tensor.GetPinnableReference(), length);
        }

        var copy = new float[length];
        tensor.FlattenTo(copy);
        return copy;
    }

    /// <summary>A new array holding the elements of <paramref name="tensor"/> in row-major order.</summary>
    public static float[] Copy(Tensor<float> tensor)
    {
        var copy = new float[checked((int)tensor.FlattenedLength)];
        tensor.FlattenTo(copy);
        return copy;
    }

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of <paramref name="shape"/>.</summary>
    public static Tensor<float> Wrap(float[] data, params ReadOnlySpan<nint> shape) => Tensor.Create(data, shape);

    /// <summary>Formats a shape as PyTorch prints a size: (12, 64, 10).</summary>
    public static string FormatShape(ReadOnlySpan<nint> shape)
    {
        return shape.Length == 1 ? $"({shape[0]})" : "(" + string.Join(", ", shape.ToArray()) + ")";
    }

    /// <summary>How an error message names a buffer the caller gave: its shape, "a non-dense" one, or none at all
    /// (<c>default</c>, rank 0).</summary>
    public static string DescribeBuffer(ReadOnlySpan<nint> lengths, bool isDense) =>
        lengths.Length == 0 ? "none (a default span)" : isDense ? FormatShape(lengths) : $"a non-dense {FormatShape(lengths)}";

    public static bool ShapeEquals(ReadOnlySpan<nint> shape, ReadOnlySpan<nint> expected) => shape.SequenceEqual(expected);
}
