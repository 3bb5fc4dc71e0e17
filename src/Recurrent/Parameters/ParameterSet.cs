using Recurrent.Execution;

namespace Recurrent.Parameters;

/// <summary>
/// An immutable snapshot of all of a module's parameters: the values in PyTorch's layout (what the state dict shows)
/// and, derived from them once, the packed per-direction weights the kernels read. A module swaps in a new snapshot
/// when its weights change, so a forward pass that took a snapshot never sees half-loaded weights.
/// </summary>
internal sealed class ParameterSet
{
    private readonly float[][] _values;

    public ParameterSet(LayerConfig config, ParameterSpec[] specs, float[][] values, WeightFormat format, bool allowsCopies)
    {
        _values = values;
        Specs = specs;
        Format = format;
        AllowsCopies = allowsCopies;
        var directions = new DirectionWeights[config.StateCount];
        for (int p = 0; p < specs.Length;)
        {
            // Specs come grouped by (layer, direction), each group starting with weight_ih.
            ParameterSpec first = specs[p];
            float[]? inputWeights = null, hiddenWeights = null, inputBias = null, hiddenBias = null, projection = null;
            for (; p < specs.Length && specs[p].Layer == first.Layer && specs[p].Direction == first.Direction; p++)
            {
                switch (specs[p].Kind)
                {
                    case ParameterKind.InputWeights: inputWeights = values[p]; break;
                    case ParameterKind.HiddenWeights: hiddenWeights = values[p]; break;
                    case ParameterKind.InputBias: inputBias = values[p]; break;
                    case ParameterKind.HiddenBias: hiddenBias = values[p]; break;
                    case ParameterKind.ProjectionWeights: projection = values[p]; break;
                }
            }

            directions[first.Layer * config.Directions + first.Direction] =
                new DirectionWeights(config, first.Layer, inputWeights!, hiddenWeights!, inputBias, hiddenBias, projection, format)
                {
                    AllowsCopies = allowsCopies,
                };
        }

        Directions = directions;
    }

    public ParameterSpec[] Specs { get; }

    /// <summary>How the packed weights are stored (the values keep their floats whatever it is).</summary>
    public WeightFormat Format { get; }

    /// <summary>Whether the kernels may keep second copies of the packed weights in other layouts
    /// (<see cref="DirectionWeights.AllowsCopies"/>; <see cref="RecurrentModule.AllowWeightCopies"/>).</summary>
    public bool AllowsCopies { get; }

    /// <summary>Packed weights indexed by layer * D + direction (the row of h_n they produce).</summary>
    public DirectionWeights[] Directions { get; }

    /// <summary>The same values, packed anew in <paramref name="format"/>, with or without copies.</summary>
    public ParameterSet With(LayerConfig config, WeightFormat format, bool allowsCopies) => new(config, Specs, _values, format, allowsCopies);

    /// <summary>The values of parameter <paramref name="index"/> in PyTorch's layout. Never written after construction.</summary>
    public ReadOnlySpan<float> Values(int index) => _values[index];
}
