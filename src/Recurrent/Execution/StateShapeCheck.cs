using System.Numerics.Tensors;

namespace Recurrent.Execution;

/// <summary>The one check of an initial state's shape that layers and cells share, with PyTorch's wording of the error.</summary>
internal static class StateShapeCheck
{
    /// <summary>Throws unless <paramref name="state"/> is null or has exactly <paramref name="expected"/> shape.</summary>
    /// <param name="state">The caller's initial state, or null for zeros.</param>
    /// <param name="name">The argument's name, for the exception.</param>
    /// <param name="expected">The shape this call needs.</param>
    /// <param name="inputKind">How the input was read, for the message: "3-D (batched)", "1-D (unbatched)", ...</param>
    public static void Check(Tensor<float>? state, string name, nint[] expected, string inputKind)
    {
        if (state is not null)
        {
            Check(state.Lengths, name, expected, inputKind);
        }
    }

    /// <summary>Throws unless <paramref name="shape"/> is exactly <paramref name="expected"/>; parameters as above.</summary>
    public static void Check(ReadOnlySpan<nint> shape, string name, ReadOnlySpan<nint> expected, string inputKind)
    {
        if (shape.Length != expected.Length)
        {
            throw new ArgumentException(
                $"For {inputKind} input, {name} should also be {expected.Length}-D with shape {TensorData.FormatShape(expected)}, " +
                $"got a {shape.Length}-D tensor of shape {TensorData.FormatShape(shape)}.", name);
        }

        if (!TensorData.ShapeEquals(shape, expected))
        {
            throw new ArgumentException($"Expected {name} of shape {TensorData.FormatShape(expected)}, got {TensorData.FormatShape(shape)}.", name);
        }
    }
}
