using Recurrent.Execution;

namespace Recurrent.Parameters;

/// <summary>
/// PyTorch's initialisation (<c>RNNBase.reset_parameters</c>): every parameter, biases and weight_hr included, drawn
/// uniformly from [-1/sqrt(H), 1/sqrt(H)] with H = hidden_size. The numbers come from the given <see cref="Random"/>, so a
/// seed reproduces them in this library (PyTorch's generator is a different one: load its state dict for its numbers).
/// </summary>
internal static class ParameterInitializer
{
    public static float[][] Initialize(ParameterSpec[] specs, LayerConfig config, Random random)
    {
        float bound = 1f / MathF.Sqrt(config.HiddenSize);
        var values = new float[specs.Length][];
        for (int p = 0; p < specs.Length; p++)
        {
            var data = new float[specs[p].Length];
            for (int i = 0; i < data.Length; i++)
            {
                // NextSingle is in [0, 1): the result lies in [-bound, bound).
                data[i] = (2f * random.NextSingle() - 1f) * bound;
            }

            values[p] = data;
        }

        return values;
    }
}
