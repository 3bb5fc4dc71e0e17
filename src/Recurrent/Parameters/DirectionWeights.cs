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
/// <para>
/// Weight format: with <see cref="WeightFormat.BFloat16"/> every weight matrix holds its values rounded to bfloat16. A layer
/// that may run in lanes (<see cref="DirectionPass.MayRunInLanes"/>, whose kernels read the joined weights as floats) keeps
/// them as floats (its W_hh is at most 128 × 48 of them); every other matrix is stored compact, 2 bytes a value
/// (<see cref="PackedMatrix.ToCompact"/>). Either way the products see the same rounded values.
/// </para>
/// </remarks>
internal sealed class DirectionWeights
{
    /// <summary>
    /// Whether a forward may give these matrices a second copy in another layout where its products read that faster
    /// (column vectors: <see cref="Kernels.Gemm.PrepareColumnVectors"/>). Fixed for the snapshot: a module that stops
    /// allowing copies packs new weights (<see cref="RecurrentModule.AllowWeightCopies"/>), so none is ever dropped
    /// under a running forward.
    /// </summary>
    public bool AllowsCopies { get; init; } = true;

    public DirectionWeights(
        LayerConfig config, int layer, float[] inputWeights, float[] hiddenWeights, float[]? inputBias, float[]? hiddenBias, float[]? projectionWeights,
        WeightFormat format = WeightFormat.Float32)
    {
        int gateWidth = config.GateWidth;
        int hidden = config.HiddenSize;
        int inputSize = config.LayerInputSize(layer);
        bool rounded = format == WeightFormat.BFloat16;
        bool compact = rounded && !DirectionPass.MayRunInLanes(config);
        if (rounded && !compact)
        {
            inputWeights = RoundedToBFloat16(inputWeights);
            hiddenWeights = RoundedToBFloat16(hiddenWeights);
        }

        if (config.CellType == CellType.Gru)
        {
            // GRU's recurrent product needs its own buffer (r multiplies h W_hnᵀ + b_hn), so it is never joined.
            InputWeights = Packed(inputWeights, gateWidth, inputSize, compact);
            HiddenWeights = Packed(hiddenWeights, gateWidth, config.OutputSize, compact);
        }
        else
        {
            var packed = PackedMatrix.PackSideBySide(inputWeights, inputSize, hiddenWeights, config.OutputSize, gateWidth);
            (JoinedWeights, InputWeights, HiddenWeights) = compact ? packed.Joined.ToCompact(inputSize) : packed;
        }

        // A projection never runs in lanes.
        ProjectionWeights = projectionWeights is null ? null : Packed(projectionWeights, config.ProjSize, hidden, rounded);

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

    /// <summary>Packs rows × cols of <paramref name="weights"/>, compact (bfloat16) or as floats.</summary>
    private static PackedMatrix Packed(float[] weights, int rows, int cols, bool compact)
    {
        PackedMatrix packed = PackedMatrix.Pack(weights, rows, cols);
        return compact ? packed.ToCompact(cols).Joined : packed;
    }

    /// <summary>A copy of <paramref name="values"/> with each rounded to bfloat16 (<see cref="BFloat16.RoundToFloat"/>).</summary>
    private static float[] RoundedToBFloat16(float[] values)
    {
        var rounded = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            rounded[i] = BFloat16.RoundToFloat(values[i]);
        }

        return rounded;
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
