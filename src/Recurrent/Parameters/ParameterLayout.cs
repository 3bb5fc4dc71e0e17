using Recurrent.Execution;

namespace Recurrent.Parameters;

/// <summary>
/// The names and shapes of a layer's parameters in PyTorch's registration (= state dict) order: layers outer,
/// directions inner (l0, l0_reverse, l1, ...); within each, weight_ih, weight_hh, then bias_ih, bias_hh when the
/// layer has bias, then weight_hr when it projects. Cells use the bare names weight_ih, weight_hh, bias_ih, bias_hh.
/// </summary>
internal static class ParameterLayout
{
    public static ParameterSpec[] For(LayerConfig config)
    {
        var specs = new List<ParameterSpec>();
        int gateWidth = config.GateWidth;
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            for (int direction = 0; direction < config.Directions; direction++)
            {
                string suffix = config.IsCell ? "" : $"_l{layer}" + (direction == 1 ? "_reverse" : "");
                specs.Add(new($"weight_ih{suffix}", layer, direction, ParameterKind.InputWeights, gateWidth, config.LayerInputSize(layer)));
                specs.Add(new($"weight_hh{suffix}", layer, direction, ParameterKind.HiddenWeights, gateWidth, config.OutputSize));
                if (config.HasBias)
                {
                    specs.Add(new($"bias_ih{suffix}", layer, direction, ParameterKind.InputBias, gateWidth, 0));
                    specs.Add(new($"bias_hh{suffix}", layer, direction, ParameterKind.HiddenBias, gateWidth, 0));
                }

                if (config.ProjSize > 0)
                {
                    specs.Add(new($"weight_hr{suffix}", layer, direction, ParameterKind.ProjectionWeights, config.ProjSize, config.HiddenSize));
                }
            }
        }

        return [.. specs];
    }
}
