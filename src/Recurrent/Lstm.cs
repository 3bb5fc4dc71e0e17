using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>
/// A multi-layer long short-term memory, PyTorch's <c>torch.nn.LSTM</c>. Gate chunks in the order i, f, g, o:
/// i, f, o = σ(x W_*ᵀ + b_i* + h W_h*ᵀ + b_h*), g = tanh(...), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'), and with
/// projection h' = (o ⊙ tanh(c')) W_hrᵀ. Parameters per layer k and direction: weight_ih_l{k} (4H, H_in or D*H_out),
/// weight_hh_l{k} (4H, H_out), bias_ih_l{k} (4H), bias_hh_l{k} (4H), weight_hr_l{k} (ProjSize, H) when projecting.
/// Shapes: see <see cref="RecurrentLayer"/>; h has H_out = ProjSize (if set) features while c keeps H.
/// </summary>
public sealed class Lstm : RecurrentLayer
{
    /// <summary>Creates the layer with PyTorch's defaults and initialisation (uniform in ±1/sqrt(hiddenSize)).</summary>
    /// <param name="inputSize">H_in: features of each input step (positive).</param>
    /// <param name="hiddenSize">H: features of the cell state (positive).</param>
    /// <param name="numLayers">Stacked layers (positive). Default 1.</param>
    /// <param name="bias">Whether the layer has bias_ih and bias_hh. Default true.</param>
    /// <param name="batchFirst">Input and output as (N, L, features). Default false.</param>
    /// <param name="dropout">Dropout probability between layers in training mode; in [0, 1]. Default 0.</param>
    /// <param name="bidirectional">Also run the sequence backwards. Default false.</param>
    /// <param name="projSize">If positive, h is projected to this many features by weight_hr; in [0, hiddenSize). Default 0.</param>
    /// <param name="seed">Seeds the initial weights and the dropout masks; null for a random seed.</param>
    /// <exception cref="ArgumentException">A size is not positive, dropout is outside [0, 1] or projSize outside [0, hiddenSize).</exception>
    public Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, int projSize = 0, int? seed = null)
        : this(new RecurrentLayerOptions
        {
            CellType = CellType.Lstm, InputSize = inputSize, HiddenSize = hiddenSize, NumLayers = numLayers, Bias = bias,
            BatchFirst = batchFirst, Dropout = dropout, Bidirectional = bidirectional, ProjSize = projSize, Seed = seed,
        })
    {
    }

    internal Lstm(RecurrentLayerOptions options)
        : base(options)
    {
    }

    /// <summary>Features of the projected h (0 = no projection).</summary>
    public int ProjSize => Config.ProjSize;

    private protected override string TorchName => "LSTM";

    /// <summary>Runs the layers over <paramref name="input"/> from zero initial states.</summary>
    /// <param name="input">(L, N, H_in), (N, L, H_in) when batch-first, or (L, H_in) unbatched.</param>
    /// <returns>Output (L, N, D*H_out) in the input's layout, and (h_n, c_n): (D*NumLayers, N, H_out) and (D*NumLayers, N, H).</returns>
    /// <exception cref="ArgumentException">A shape is wrong; the message names the argument and the expected and actual shapes.</exception>
    public (Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) Forward(Tensor<float> input) => Forward(input, null, null);

    /// <summary>Runs the layers over <paramref name="input"/> from the initial state (h0, c0).</summary>
    /// <param name="input">(L, N, H_in), (N, L, H_in) when batch-first, or (L, H_in) unbatched.</param>
    /// <param name="state">h0 (D*NumLayers, N, H_out) and c0 (D*NumLayers, N, H); unbatched: (D*NumLayers, H_out) and (D*NumLayers, H).</param>
    /// <returns>Output in the input's layout, and (h_n, c_n) shaped like (h0, c0).</returns>
    /// <exception cref="ArgumentException">A shape is wrong, or one of h0 and c0 is null.</exception>
    public (Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) Forward(Tensor<float> input, (Tensor<float> H, Tensor<float> C) state) =>
        Forward(input, state.H, state.C);

    /// <summary>Runs the layers from (h0, c0), or from zeros when both are null.</summary>
    /// <param name="input">(L, N, H_in), (N, L, H_in) when batch-first, or (L, H_in) unbatched.</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H_out), or null together with <paramref name="c0"/>.</param>
    /// <param name="c0">Initial cell state (D*NumLayers, N, H), or null together with <paramref name="h0"/>.</param>
    /// <returns>Output in the input's layout, and (h_n, c_n).</returns>
    /// <exception cref="ArgumentException">A shape is wrong, or exactly one of h0 and c0 is null.</exception>
    public (Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) Forward(Tensor<float> input, Tensor<float>? h0, Tensor<float>? c0)
    {
        var (output, hidden, cell) = ForwardCore(input, h0, c0);
        return (output, (hidden, cell!));
    }

    /// <summary>Runs the layers over a packed batch from zero states; no work is done on padding.</summary>
    /// <param name="input">Packed data (Σ lengths, H_in), e.g. from <see cref="RnnUtils.PackPaddedSequence"/>.</param>
    /// <returns>The packed output (Σ lengths, D*H_out) with the input's batch sizes and indices, and (h_n, c_n) after each
    /// sequence's own last step, in the caller's batch order.</returns>
    /// <exception cref="ArgumentException">The data's feature count is wrong.</exception>
    public (PackedSequence Output, (Tensor<float> H, Tensor<float> C) State) Forward(PackedSequence input) => Forward(input, null, null);

    /// <summary>Runs the layers over a packed batch from (h0, c0), given in the caller's batch order.</summary>
    /// <param name="input">Packed data (Σ lengths, H_in).</param>
    /// <param name="state">h0 (D*NumLayers, N, H_out) and c0 (D*NumLayers, N, H).</param>
    /// <returns>The packed output and (h_n, c_n) in the caller's batch order.</returns>
    /// <exception cref="ArgumentException">A shape is wrong, or one of h0 and c0 is null.</exception>
    public (PackedSequence Output, (Tensor<float> H, Tensor<float> C) State) Forward(PackedSequence input, (Tensor<float> H, Tensor<float> C) state) =>
        Forward(input, state.H, state.C);

    /// <summary>Runs the layers over a packed batch from (h0, c0), or from zeros when both are null.</summary>
    /// <param name="input">Packed data (Σ lengths, H_in).</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H_out), or null together with <paramref name="c0"/>.</param>
    /// <param name="c0">Initial cell state (D*NumLayers, N, H), or null together with <paramref name="h0"/>.</param>
    /// <returns>The packed output and (h_n, c_n) in the caller's batch order.</returns>
    /// <exception cref="ArgumentException">A shape is wrong, or exactly one of h0 and c0 is null.</exception>
    public (PackedSequence Output, (Tensor<float> H, Tensor<float> C) State) Forward(PackedSequence input, Tensor<float>? h0, Tensor<float>? c0)
    {
        var (output, hidden, cell) = ForwardPackedCore(input, h0, c0);
        return (output, (hidden, cell!));
    }

    /// <summary>Runs the layers over a padded batch whose sequences have the given lengths, from zero states.</summary>
    /// <param name="input">(L, N, H_in), or (N, L, H_in) when batch-first; positions past each length are ignored.</param>
    /// <param name="lengths">One length per sequence, each in [1, L], in any order.</param>
    /// <returns>Output in the input's layout, zero past each length, and (h_n, c_n) after each sequence's own last step.</returns>
    /// <exception cref="ArgumentException">A shape or a length is wrong.</exception>
    public (Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) Forward(Tensor<float> input, ReadOnlySpan<int> lengths) =>
        Forward(input, lengths, null, null);

    /// <summary>Runs the layers over a padded batch with lengths from (h0, c0), or from zeros when both are null.</summary>
    /// <param name="input">(L, N, H_in), or (N, L, H_in) when batch-first.</param>
    /// <param name="lengths">One length per sequence, each in [1, L].</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H_out), or null together with <paramref name="c0"/>.</param>
    /// <param name="c0">Initial cell state (D*NumLayers, N, H), or null together with <paramref name="h0"/>.</param>
    /// <returns>Output in the input's layout, zero past each length, and (h_n, c_n).</returns>
    /// <exception cref="ArgumentException">A shape or a length is wrong, or exactly one of h0 and c0 is null.</exception>
    public (Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) Forward(Tensor<float> input, ReadOnlySpan<int> lengths, Tensor<float>? h0, Tensor<float>? c0)
    {
        var (output, hidden, cell) = ForwardPaddedCore(input, lengths, h0, c0);
        return (output, (hidden, cell!));
    }

    /// <summary>
    /// Runs the layers into caller-provided buffers. Allocates nothing once <paramref name="workspace"/> has served a call
    /// of this size (with dense arguments); results equal the other overloads' bit for bit.
    /// </summary>
    /// <param name="input">(L, N, H_in), (N, L, H_in) when batch-first, or (L, H_in) unbatched.</param>
    /// <param name="h0">Initial hidden state (D*NumLayers, N, H_out) or (D*NumLayers, H_out); <c>default</c> together with c0 for zeros (a span of any other shape is a state and must match, even one with no elements).</param>
    /// <param name="c0">Initial cell state (D*NumLayers, N, H) or (D*NumLayers, H); <c>default</c> together with h0 for zeros.</param>
    /// <param name="output">Receives the output: dense, (L, N, D*H_out) in the input's layout.</param>
    /// <param name="hn">Receives h_n: dense, shaped like h0. May be h0 itself (updated in place).</param>
    /// <param name="cn">Receives c_n: dense, shaped like c0. May be c0 itself.</param>
    /// <param name="workspace">Scratch reused across calls; one call at a time.</param>
    /// <exception cref="ArgumentException">A shape is wrong, exactly one of h0 and c0 is <c>default</c>, or a destination is not dense or
    /// overlaps another argument. Nothing is written.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="workspace"/> is in use by another call.</exception>
    public void Forward(
        ReadOnlyTensorSpan<float> input, ReadOnlyTensorSpan<float> h0, ReadOnlyTensorSpan<float> c0,
        TensorSpan<float> output, TensorSpan<float> hn, TensorSpan<float> cn, ForwardWorkspace workspace) =>
        ForwardInto(input, h0, c0, output, hn, cn, workspace);
}
