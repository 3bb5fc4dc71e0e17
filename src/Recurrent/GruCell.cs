using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>
/// One step of a GRU, PyTorch's <c>torch.nn.GRUCell</c>, gate chunks r, z, n (see <see cref="Gru"/>).
/// Parameters weight_ih (3H, H_in), weight_hh (3H, H), bias_ih (3H), bias_hh (3H).
/// </summary>
public sealed class GruCell : RecurrentCell
{
    /// <summary>Creates the cell with PyTorch's initialisation (uniform in ±1/sqrt(hiddenSize)).</summary>
    /// <param name="inputSize">H_in (positive).</param>
    /// <param name="hiddenSize">H (positive).</param>
    /// <param name="bias">Whether the cell has bias_ih and bias_hh. Default true.</param>
    /// <param name="seed">Seeds the initial weights; null for a random seed.</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public GruCell(int inputSize, int hiddenSize, bool bias = true, int? seed = null)
        : base(CellType.Gru, inputSize, hiddenSize, bias, Nonlinearity.Tanh, seed)
    {
    }

    private protected override string TorchName => "GRUCell";

    /// <summary>Computes one step.</summary>
    /// <param name="input">(N, H_in) or unbatched (H_in).</param>
    /// <param name="hx">h: (N, H) or (H) to match the input; zeros when null.</param>
    /// <returns>h', shaped like h.</returns>
    /// <exception cref="ArgumentException">A shape is wrong; the message names the argument and the expected and actual shapes.</exception>
    public Tensor<float> Forward(Tensor<float> input, Tensor<float>? hx = null) => StepCore(input, hx, null).Hidden;
}
