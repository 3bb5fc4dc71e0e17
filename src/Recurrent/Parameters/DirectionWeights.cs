using Recurrent.Execution;
using Recurrent.Kernels;

namespace Recurrent.Parameters;

/// <summary>
/// The weights of one layer and direction in the form the time loop reads: packed for the matrix kernels, biases
/// pre-summed. Immutable once built.
/// </summary>
/// <remarks>
/// Bias folding: for RNN and LSTM every step adds b_ih + b_hh, so <see cref="InputBias"/> holds their sum and the
/// recurrent product needs none. For GRU the reset gate multiplies (h W_hnᵀ + b_hn), so b_hn cannot move: the r and z
/// chunks of <see cref="InputBias"/> hold b_i + b_h, its n chunk holds b_in alone, and <see cref="RecurrentBias"/> is
/// zero except for b_hn in the n chunk.
/// <para>
/// Storage: for RNN and LSTM, W_ih and W_hh are packed side by side in one storage (<see cref="JoinedWeights"/>), of
/// which <see cref="InputWeights"/> and <see cref="HiddenWeights"/> are views: no more memory than packing them apart.
/// </para>
/// </remarks>
internal sealed class DirectionWeights
{
    public DirectionWeights(LayerConfig config, int layer, float[] inputWeights, float[] hiddenWeights, float[]? inputBias, float[]? hiddenBias, float[]? projectionWeights)
    {
        int gateWidth = config.GateWidth;
        int hidden = config.HiddenSize;
        if (config.CellType == CellType.Gru)
        {
            // GRU's recurrent product needs its own buffer (r multiplies h W_hnᵀ + b_hn), so it is never joined.
            InputWeights = PackedMatrix.Pack(inputWeights, gateWidth, config.LayerInputSize(layer));
            HiddenWeights = PackedMatrix.Pack(hiddenWeights, gateWidth, config.OutputSize);
        }
        else
        {
            (JoinedWeights, InputWeights, HiddenWeights) = PackedMatrix.PackSideBySide(
                inputWeights, config.LayerInputSize(layer), hiddenWeights, config.OutputSize, gateWidth);
        }

        ProjectionWeights = projectionWeights is null ? null : PackedMatrix.Pack(projectionWeights, config.ProjSize, hidden);

        if (inputBias is null || hiddenBias is null)
        {
            InputBias = [];
            RecurrentBias = [];
            return;
        }

        var folded = new float[gateWidth];
        int foldedLength = config.CellType == CellType.Gru ? 2 * hidden : gateWidth;
        for (int j = 0; j < gateWidth; j++)
        {
            folded[j] = j < foldedLength ? inputBias[j] + hiddenBias[j] : inputBias[j];
        }

        InputBias = folded;
        if (config.CellType == CellType.Gru)
        {
            var recurrent = new float[gateWidth];
            hiddenBias.AsSpan(2 * hidden).CopyTo(recurrent.AsSpan(2 * hidden));
            RecurrentBias = recurrent;
        }
        else
        {
            RecurrentBias = [];
        }
    }

    /// <summary>RNN and LSTM: [W_ih | W_hh] packed side by side, for one step's whole product [x | h]·[W_ih | W_hh]ᵀ in
    /// one pass (<see cref="InputWeights"/> and <see cref="HiddenWeights"/> are views of it). Null for GRU.</summary>
    public PackedMatrix? JoinedWeights { get; }

    /// <summary>W_ih packed; rows G*H, columns the layer's input size.</summary>
    public PackedMatrix InputWeights { get; }

    /// <summary>W_hh packed; rows G*H, columns H_out.</summary>
    public PackedMatrix HiddenWeights { get; }

    /// <summary>W_hr packed (LSTM projection), or null.</summary>
    public PackedMatrix? ProjectionWeights { get; }

    /// <summary>Bias added to the input projection (length G*H), or empty without bias.</summary>
    public float[] InputBias { get; }

    /// <summary>Bias added to the recurrent product (GRU with bias only: b_hn in the n chunk), or empty.</summary>
    public float[] RecurrentBias { get; }
}
