namespace Recurrent;

/// <summary>The recurrence a layer computes: PyTorch's <c>mode</c> of <c>RNNBase</c>.</summary>
public enum CellType
{
    /// <summary>Vanilla RNN (<c>torch.nn.RNN</c>): one gate chunk.</summary>
    Rnn = 0,

    /// <summary>Gated recurrent unit (<c>torch.nn.GRU</c>): gate chunks r, z, n.</summary>
    Gru = 1,

    /// <summary>Long short-term memory (<c>torch.nn.LSTM</c>): gate chunks i, f, g, o.</summary>
    Lstm = 2,
}
