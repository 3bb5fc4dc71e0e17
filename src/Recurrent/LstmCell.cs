using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>
/// One step of an LSTM, PyTorch's <c>torch.nn.LSTMCell</c>, gate chunks i, f, g, o (see <see cref="Lstm"/>).
/// Parameters weight_ih (4H, H_in), weight_hh (4H, H), bias_ih (4H), bias_hh (4H).
/// </summary>
public sealed class LstmCell : RecurrentCell
{
    /// <summary>Creates the cell with PyTorch's initialisation (uniform in ±1/sqrt(hiddenSize)).</summary>
    /// <param name="inputSize">H_in (positive).</param>
    /// <param name="hiddenSize">H (positive).</param>
    /// <param name="bias">Whether the cell has bias_ih and bias_hh. Default true.</param>
    /// <param name="seed">Seeds the initial weights; null for a random seed.</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public LstmCell(int inputSize, int hiddenSize, bool bias = true, int? seed = null)
        : base(CellType.Lstm, inputSize, hiddenSize, bias, Nonlinearity.Tanh, seed)
    {
    }

    private protected override string TorchName => "LSTMCell";

    /// <summary>Computes one step from zero states.</summary>
    /// <param name="input">(N, H_in) or unbatched (H_in).</param>
    /// <returns>(h', c'), each (N, H) or (H).</returns>
    /// <exception cref="ArgumentException">The input's shape is wrong.</exception>
    public (Tensor<float> H, Tensor<float> C) Forward(Tensor<float> input) => Forward(input, null, null);

    /// <summary>Computes one step from (h, c).</summary>
    /// <param name="input">(N, H_in) or unbatched (H_in).</param>
    /// <param name="state">h and c, each (N, H), or (H) for unbatched input.</param>
    /// <returns>(h', c') shaped like (h, c).</returns>
    /// <exception cref="ArgumentException">A shape is wrong, or one of h and c is null.</exception>
    public (Tensor<float> H, Tensor<float> C) Forward(Tensor<float> input, (Tensor<float> H, Tensor<float> C) state) => Forward(input, state.H, state.C);

    /// <summary>Computes one step from (h, c), or from zeros when both are null.</summary>
    /// <param name="input">(N, H_in) or unbatched (H_in).</param>
    /// <param name="h">Hidden state (N, H) or (H), or null together with <paramref name="c"/>.</param>
    /// <param name="c">Cell state (N, H) or (H), or null together with <paramref name="h"/>.</param>
    /// <returns>(h', c') shaped like (h, c).</returns>
    /// <exception cref="ArgumentException">A shape is wrong, or exactly one of h and c is null.</exception>
    public (Tensor<float> H, Tensor<float> C) Forward(Tensor<float> input, Tensor<float>? h, Tensor<float>? c)
    {
        var (hidden, cell) = StepCore(input, h, c);
        return (hidden, cell!);
    }
}
