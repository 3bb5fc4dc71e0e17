namespace Recurrent.Execution;

/// <summary>
/// Scratch buffers for one forward pass over a sequence of <see cref="Steps"/> steps and <see cref="Batch"/> rows.
/// Sized once before the time loop, so nothing is allocated inside it. Not shared between concurrent calls.
/// </summary>
internal sealed class Workspace
{
    public Workspace(LayerConfig config, int steps, int batch)
    {
        Steps = steps;
        Batch = batch;
        Gates = new float[checked(steps * batch * config.GateWidth)];
        RecurrentGates = config.CellType == CellType.Gru ? new float[batch * config.GateWidth] : [];
        Cell = config.CellType == CellType.Lstm ? new float[batch * config.HiddenSize] : [];
        Unprojected = config.ProjSize > 0 ? new float[batch * config.HiddenSize] : [];
        ZeroState = new float[batch * config.OutputSize];

        // Layer k writes layer buffer k % 2 and layer k + 1 reads it; the last layer writes the caller's output.
        int intermediateLayers = Math.Min(config.NumLayers - 1, 2);
        LayerOutputs = new float[intermediateLayers][];
        for (int i = 0; i < intermediateLayers; i++)
        {
            LayerOutputs[i] = new float[checked(steps * batch * config.OutputWidth)];
        }
    }

    public int Steps { get; }

    public int Batch { get; }

    /// <summary>Gate pre-activations of every step, (L, N, G*H): the input projection, then each step's update.</summary>
    public float[] Gates { get; }

    /// <summary>GRU: h W_hhᵀ + b_hn of the current step, (N, 3H). Empty for RNN and LSTM.</summary>
    public float[] RecurrentGates { get; }

    /// <summary>LSTM: the running cell state c of one direction, (N, H). Empty otherwise.</summary>
    public float[] Cell { get; }

    /// <summary>LSTM with projection: o * tanh(c') before W_hr, (N, H). Empty otherwise.</summary>
    public float[] Unprojected { get; }

    /// <summary>All zeros, (N, H_out): the initial h when the caller gives none. Never written.</summary>
    public float[] ZeroState { get; }

    /// <summary>Outputs of the layers below the last, (L, N, D*H_out) each.</summary>
    public float[][] LayerOutputs { get; }
}
