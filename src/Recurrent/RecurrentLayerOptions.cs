namespace Recurrent;

/// <summary>
/// Every constructor argument of PyTorch's <c>nn.RNN</c>, <c>nn.GRU</c> and <c>nn.LSTM</c> in one object, for building a
/// layer whose type is only known at run time (for example from a saved model's description) with
/// <see cref="RecurrentLayer.Create(RecurrentLayerOptions)"/>. Defaults are PyTorch's.
/// </summary>
public sealed record RecurrentLayerOptions
{
    /// <summary>Which recurrence. Required.</summary>
    public required CellType CellType { get; init; }

    /// <summary>H_in, features per input step; must be positive. Required.</summary>
    public required int InputSize { get; init; }

    /// <summary>H, features of the hidden (and LSTM cell) state; must be positive. Required.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Stacked layers; must be positive. Default 1.</summary>
    public int NumLayers { get; init; } = 1;

    /// <summary>RNN activation; only <see cref="Nonlinearity.Tanh"/> is valid for GRU and LSTM. Default tanh.</summary>
    public Nonlinearity Nonlinearity { get; init; } = Nonlinearity.Tanh;

    /// <summary>Whether the layer has bias_ih and bias_hh. Default true.</summary>
    public bool Bias { get; init; } = true;

    /// <summary>Input and output are (N, L, features) instead of (L, N, features); states are never batch-first. Default false.</summary>
    public bool BatchFirst { get; init; }

    /// <summary>Dropout probability on the output of every layer but the last, in training mode only; in [0, 1]. Default 0.</summary>
    public double Dropout { get; init; }

    /// <summary>Whether a second direction runs from the last step to the first. Default false.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>LSTM only: projects h to this many features (0 = no projection); in [0, HiddenSize). Default 0.</summary>
    public int ProjSize { get; init; }

    /// <summary>Seed for the initial weights and the dropout masks; null draws a random seed. Default null.</summary>
    public int? Seed { get; init; }
}
