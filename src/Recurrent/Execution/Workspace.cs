namespace Recurrent.Execution;

/// <summary>
/// Scratch buffers for one forward pass over <see cref="TotalRows"/> (step, sequence) rows of a batch of
/// <see cref="Batch"/> sequences. Sized before the time loop, so nothing is allocated inside it. A workspace serves one
/// call at a time.
/// </summary>
internal sealed class Workspace
{
    public Workspace(LayerConfig config, int totalRows, int batch)
    {
        TotalRows = totalRows;
        Batch = batch;
        Gates = new float[checked(totalRows * config.GateWidth)];
        RecurrentGates = config.CellType == CellType.Gru ? new float[batch * config.GateWidth] : [];
        Hidden = new float[batch * config.OutputSize];
        Cell = config.CellType == CellType.Lstm ? new float[batch * config.HiddenSize] : [];
        Unprojected = config.ProjSize > 0 ? new float[batch * config.HiddenSize] : [];

        // Layer k writes layer buffer k % 2 and layer k + 1 reads it; the last layer writes the caller's output.
        int intermediateLayers = Math.Min(config.NumLayers - 1, 2);
        LayerOutputs = new float[intermediateLayers][];
        for (int i = 0; i < intermediateLayers; i++)
        {
            LayerOutputs[i] = new float[checked(totalRows * config.OutputWidth)];
        }
    }

    public int TotalRows { get; }

    public int Batch { get; }

    /// <summary>Gate pre-activations of every row, (rows, G*H): the input projection, then each step's update.</summary>
    public float[] Gates { get; }

    /// <summary>GRU: h W_hhᵀ + b_hn of the current step, (N, 3H). Empty for RNN and LSTM.</summary>
    public float[] RecurrentGates { get; }

    /// <summary>The running h of one direction, (N, H_out).</summary>
    public float[] Hidden { get; }

    /// <summary>LSTM: the running cell state c of one direction, (N, H). Empty otherwise.</summary>
    public float[] Cell { get; }

    /// <summary>LSTM with projection: o * tanh(c') before W_hr, (N, H). Empty otherwise.</summary>
    public float[] Unprojected { get; }

    /// <summary>Outputs of the layers below the last, (rows, D*H_out) each.</summary>
    public float[][] LayerOutputs { get; }
}
