namespace Recurrent.Parameters;

/// <summary>The role of one parameter tensor of a layer and direction, in PyTorch's registration order.</summary>
internal enum ParameterKind
{
    /// <summary>weight_ih: (G*H, layer input size).</summary>
    InputWeights,

    /// <summary>weight_hh: (G*H, H_out).</summary>
    HiddenWeights,

    /// <summary>bias_ih: (G*H).</summary>
    InputBias,

    /// <summary>bias_hh: (G*H).</summary>
    HiddenBias,

    /// <summary>weight_hr (LSTM projection): (proj_size, H).</summary>
    ProjectionWeights,
}
