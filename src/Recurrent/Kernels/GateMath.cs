using System.Numerics.Tensors;

namespace Recurrent.Kernels;

/// <summary>
/// The elementwise part of one time step for a batch of rows, after the matrix products have produced the gate
/// pre-activations. Gate chunks are in PyTorch's order within each row: LSTM i, f, g, o; GRU r, z, n.
/// The nonlinearities are TensorPrimitives' (accurate to a few ulps, NaN-propagating like PyTorch's).
/// </summary>
internal static class GateMath
{
    /// <summary>
    /// LSTM: for each of <paramref name="batch"/> rows, with pre = <paramref name="gates"/> row (4H, overwritten):
    /// i, f, o = sigmoid, g = tanh; c' = f*c + i*g (in <paramref name="cell"/>, N×H, in place);
    /// h' = o * tanh(c') written to <paramref name="hidden"/> row n at n * <paramref name="hiddenStride"/>.
    /// </summary>
    public static void LstmStep(Span<float> gates, Span<float> cell, Span<float> hidden, int hiddenStride, int batch, int hiddenSize)
    {
        int h = hiddenSize;
        for (int n = 0; n < batch; n++)
        {
            Span<float> row = gates.Slice(n * 4 * h, 4 * h);
            Span<float> inputAndForget = row[..(2 * h)];
            Span<float> input = row[..h];
            Span<float> forget = row.Slice(h, h);
            Span<float> candidate = row.Slice(2 * h, h);
            Span<float> outputGate = row.Slice(3 * h, h);
            Span<float> c = cell.Slice(n * h, h);

            TensorPrimitives.Sigmoid(inputAndForget, inputAndForget);
            TensorPrimitives.Tanh(candidate, candidate);
            TensorPrimitives.Sigmoid(outputGate, outputGate);
            TensorPrimitives.Multiply(forget, c, c);
            TensorPrimitives.MultiplyAdd(input, candidate, c, c);

            // candidate's values are spent: reuse it for tanh(c').
            TensorPrimitives.Tanh(c, candidate);
            TensorPrimitives.Multiply(outputGate, candidate, hidden.Slice(n * hiddenStride, h));
        }
    }

    /// <summary>
    /// GRU: for each row, with x-part <paramref name="inputGates"/> (3H: x W_iᵀ + b_i [+ b_h for r, z], overwritten)
    /// and h-part <paramref name="hiddenGates"/> (3H: h W_hᵀ [+ b_hn for n]): r, z = sigmoid(x-part + h-part),
    /// n = tanh(x_n + r * h_n), h' = (h - n) * z + n as PyTorch's CPU kernel computes it.
    /// </summary>
    public static void GruStep(
        Span<float> inputGates, Span<float> hiddenGates, ReadOnlySpan<float> previous, int previousStride,
        Span<float> hidden, int hiddenStride, int batch, int hiddenSize)
    {
        int h = hiddenSize;
        for (int n = 0; n < batch; n++)
        {
            Span<float> x = inputGates.Slice(n * 3 * h, 3 * h);
            Span<float> hh = hiddenGates.Slice(n * 3 * h, 3 * h);
            Span<float> resetAndUpdate = x[..(2 * h)];
            Span<float> reset = x[..h];
            Span<float> update = x.Slice(h, h);
            Span<float> candidate = x.Slice(2 * h, h);
            ReadOnlySpan<float> hPrev = previous.Slice(n * previousStride, h);

            TensorPrimitives.Add(resetAndUpdate, hh[..(2 * h)], resetAndUpdate);
            TensorPrimitives.Sigmoid(resetAndUpdate, resetAndUpdate);
            TensorPrimitives.MultiplyAdd(reset, hh.Slice(2 * h, h), candidate, candidate);
            TensorPrimitives.Tanh(candidate, candidate);

            // reset's values are spent: reuse it for (h - n).
            TensorPrimitives.Subtract(hPrev, candidate, reset);
            TensorPrimitives.MultiplyAdd(reset, update, candidate, hidden.Slice(n * hiddenStride, h));
        }
    }

    /// <summary>RNN: h' = act(pre) for each row of <paramref name="gates"/> (N×H), written to <paramref name="hidden"/>.</summary>
    public static void RnnStep(ReadOnlySpan<float> gates, Span<float> hidden, int hiddenStride, int batch, int hiddenSize, Nonlinearity nonlinearity)
    {
        int h = hiddenSize;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> pre = gates.Slice(n * h, h);
            Span<float> destination = hidden.Slice(n * hiddenStride, h);
            if (nonlinearity == Nonlinearity.Tanh)
            {
                TensorPrimitives.Tanh(pre, destination);
            }
            else
            {
                // Max propagates NaN, as torch.relu does.
                TensorPrimitives.Max(pre, 0f, destination);
            }
        }
    }
}
