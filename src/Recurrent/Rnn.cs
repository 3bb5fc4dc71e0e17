using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>
/// A multi-layer Elman RNN, PyTorch's <c>torch.nn.RNN</c>: h_t = act(x_t W_ihᵀ + b_ih + h_(t-1) W_hhᵀ + b_hh) with
/// act = tanh or relu. Parameters per layer k and direction: weight_ih_l{k} (H, H_in or D*H), weight_hh_l{k} (H, H),
/// bias_ih_l{k} (H), bias_hh_l{k} (H), with suffix "_reverse" for the reverse direction. Shapes: see <see cref="RecurrentLayer"/>.
/// </summary>
public sealed class Rnn : RecurrentLayer
{
    /// <summary>Creates the layer with PyTorch's defaults and initialisation (uniform in ±1/sqrt(hiddenSize)).</summary>
    /// <param name="inputSize">H_in: features of each input step (positive).</param>
    /// <param name="hiddenSize">H: features of the hidden state (positive).</param>
    /// <param name="numLayers">Stacked layers, each reading the previous one's output (positive). Default 1.</param>
    /// <param name="nonlinearity">tanh (default) or relu.</param>
    /// <param name="bias">Whether the layer has bias_ih and bias_hh. Default true.</param>
    /// <param name="batchFirst">Input and output as (N, L, features) instead of (L, N, features). Default false.</param>
    /// <param name="dropout">Dropout probability on each layer's output except the last, in training mode only; in [0, 1]. Default 0.</param>
    /// <param name="bidirectional">Also run the sequence backwards; output features double. Default false.</param>
    /// <param name="seed">Seeds the initial weights and the dropout masks; null for a random seed.</param>
    /// <exception cref="ArgumentException">A size is not positive, dropout is outside [0, 1], or nonlinearity is unknown.</exception>
    public Rnn(int inputSize, int hiddenSize, int numLayers = 1, Nonlinearity nonlinearity = Nonlinearity.Tanh, bool bias = true,
        bool batchFirst = false, double dropout = 0, bool bidirectional = false, int? seed = null)
        : this(new RecurrentLayerOptions
        {
            CellType = CellType.Rnn, InputSize = inputSize, HiddenSize = hiddenSize, NumLayers = numLayers, Nonlinearity = nonlinearity,
            Bias = bias, BatchFirst = batchFirst, Dropout = dropout, Bidirectional = bidirectional, Seed = seed,
        })
    {
    }

    internal Rnn(RecurrentLayerOptions options)
        : base(options)
    {
    }

    /// <summary>The activation, tanh or relu.</summary>
    public Nonlinearity Nonlinearity => Config.Nonlinearity;

    private protected override string TorchName => "RNN";

    /// <summary>Runs the layers over <paramref name="input"/>.</summary>
    /// <param name="input">(L, N, H_in), (N, L, H_in) when batch-first, or (L, H_in) unbatched.</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H), or (D*NumLayers, H) for unbatched input; zeros when null.</param>
    /// <returns>Output (L, N, D*H) in the input's layout (the last layer's h at every step), and h_n shaped like h0.</returns>
    /// <exception cref="ArgumentException">A shape is wrong; the message names the argument and the expected and actual shapes.</exception>
    public (Tensor<float> Output, Tensor<float> Hidden) Forward(Tensor<float> input, Tensor<float>? h0 = null)
    {
        var (output, hidden, _) = ForwardCore(input, h0, null);
        return (output, hidden);
    }

    /// <summary>Runs the layers over a packed batch of variable-length sequences; no work is done on padding.</summary>
    /// <param name="input">Packed data (Σ lengths, H_in), e.g. from <see cref="RnnUtils.PackPaddedSequence"/>.</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H) in the caller's batch order; zeros when null.</param>
    /// <returns>The packed output (Σ lengths, D*H) with the input's batch sizes and indices, and h_n (each sequence's
    /// state after its own last step) in the caller's batch order.</returns>
    /// <exception cref="ArgumentException">The data's feature count or h0's shape is wrong.</exception>
    public (PackedSequence Output, Tensor<float> Hidden) Forward(PackedSequence input, Tensor<float>? h0 = null)
    {
        var (output, hidden, _) = ForwardPackedCore(input, h0, null);
        return (output, hidden);
    }

    /// <summary>Runs the layers over a padded batch whose sequences have the given lengths; padding is never computed on.</summary>
    /// <param name="input">(L, N, H_in), or (N, L, H_in) when batch-first; positions past each length are ignored.</param>
    /// <param name="lengths">One length per sequence, each in [1, L], in any order.</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H); zeros when null.</param>
    /// <returns>Output shaped like the input's layout with D*H features, zero past each length; h_n after each sequence's own last step.</returns>
    /// <exception cref="ArgumentException">A shape or a length is wrong.</exception>
    public (Tensor<float> Output, Tensor<float> Hidden) Forward(Tensor<float> input, ReadOnlySpan<int> lengths, Tensor<float>? h0 = null)
    {
        var (output, hidden, _) = ForwardPaddedCore(input, lengths, h0, null);
        return (output, hidden);
    }

    /// <summary>
    /// Runs the layers into caller-provided buffers. Allocates nothing once <paramref name="workspace"/> has served a call
    /// of this size (with dense arguments); results equal the other overloads' bit for bit.
    /// </summary>
    /// <param name="input">(L, N, H_in), (N, L, H_in) when batch-first, or (L, H_in) unbatched.</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H) or (D*NumLayers, H); <c>default</c> for zeros (a span of any other shape is a state and must match, even one with no elements).</param>
    /// <param name="output">Receives the output: dense, (L, N, D*H) in the input's layout.</param>
    /// <param name="hn">Receives h_n: dense, shaped like h0. May be h0 itself (updated in place).</param>
    /// <param name="workspace">Scratch reused across calls; one call at a time.</param>
    /// <exception cref="ArgumentException">A shape is wrong, a destination is not dense or overlaps another argument. Nothing is written.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="workspace"/> is in use by another call.</exception>
    public void Forward(
        ReadOnlyTensorSpan<float> input, ReadOnlyTensorSpan<float> h0, TensorSpan<float> output, TensorSpan<float> hn,
        ForwardWorkspace workspace) =>
        ForwardInto(input, h0, default, output, hn, default, workspace);
}
