namespace Recurrent;

/// <summary>The activation of a vanilla RNN (PyTorch's <c>nonlinearity</c> argument: <c>'tanh'</c> or <c>'relu'</c>).</summary>
public enum Nonlinearity
{
    /// <summary>h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). PyTorch's default.</summary>
    Tanh = 0,

    /// <summary>h' = max(0, x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).</summary>
    Relu = 1,
}
