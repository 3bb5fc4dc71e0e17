using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>
/// One step of an Elman RNN, PyTorch's <c>torch.nn.RNNCell</c>: h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).
/// Parameters weight_ih (H, H_in), weight_hh (H, H), bias_ih (H), bias_hh (H).
/// </summary>
public sealed class RnnCell : RecurrentCell
{
    /// <summary>Creates the cell with PyTorch's initialisation (uniform in ±1/sqrt(hiddenSize)). Note PyTorch's argument order: bias before nonlinearity.</summary>
    /// <param name="inputSize">H_in (positive).</param>
    /// <param name="hiddenSize">H (positive).</param>
    /// <param name="bias">Whether the cell has bias_ih and bias_hh. Default true.</param>
    /// <param name="nonlinearity">tanh (default) or relu.</param>
    /// <param name="seed">Seeds the initial weights; null for a random seed.</param>
    /// <exception cref="ArgumentException">A size is not positive or the nonlinearity is unknown.</exception>
    public RnnCell(int inputSize, int hiddenSize, bool bias = true, Nonlinearity nonlinearity = Nonlinearity.Tanh, int? seed = null)
        : base(CellType.Rnn, inputSize, hiddenSize, bias, nonlinearity, seed)
    {
    }

    /// <summary>The activation, tanh or relu.</summary>
    public Nonlinearity Nonlinearity => Config.Nonlinearity;

    private protected override string TorchName => "RNNCell";

    /// <summary>Computes one step.</summary>
    /// <param name="input">(N, H_in) or unbatched (H_in).</param>
    /// <param name="hx">h: (N, H) or (H) to match the input; zeros when null.</param>
    /// <returns>h', shaped like h.</returns>
    /// <exception cref="ArgumentException">A shape is wrong; the message names the argument and the expected and actual shapes.</exception>
    public Tensor<float> Forward(Tensor<float> input, Tensor<float>? hx = null) => StepCore(input, hx, null).Hidden;
}
