using System.Numerics.Tensors;

namespace Recurrent.Tests;

/// <summary>Tensors for tests: seeded normal noise (numpy's randn counterpart), zeros, and shape assertions.</summary>
internal static class TestTensors
{
    public static Tensor<float> Randn(int seed, params nint[] shape)
    {
        var random = new Random(seed);
        long length = 1;
        foreach (nint d in shape)
        {
            length *= d;
        }

        var data = new float[length];
        for (int i = 0; i < data.Length; i++)
        {
            // Box–Muller: two uniforms in (0, 1] give one standard normal.
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            data[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }

        return Tensor.Create(data, shape);
    }

    public static Tensor<float> Zeros(params nint[] shape) => Tensor.CreateFromShape<float>(shape);

    public static float[] ToArray(Tensor<float> tensor)
    {
        var data = new float[tensor.FlattenedLength];
        tensor.FlattenTo(data);
        return data;
    }

    public static void AssertShape(Tensor<float> tensor, params nint[] expected) =>
        Assert.Equal(expected, tensor.Lengths.ToArray());

    /// <summary>Swaps the two leading axes of an (outer, inner, features) array: batch-first ↔ seq-first.</summary>
    public static float[] SwapLeading(float[] data, int outer, int inner, int features)
    {
        var result = new float[data.Length];
        for (int i = 0; i < outer; i++)
        {
            for (int j = 0; j < inner; j++)
            {
                Array.Copy(data, (i * inner + j) * features, result, (j * outer + i) * features, features);
            }
        }

        return result;
    }
}
