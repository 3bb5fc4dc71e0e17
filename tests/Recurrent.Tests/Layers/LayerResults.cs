using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>Runs any layer kind through its typed Forward and compares whole results bit for bit.</summary>
internal static class LayerResults
{
    /// <summary>[output, h_n] or, LSTM, [output, h_n, c_n] of a Forward from (h0, c0), or from zeros where null.</summary>
    public static float[][] Forward(RecurrentLayer layer, Tensor<float> x, Tensor<float>? h0, Tensor<float>? c0) => layer switch
    {
        Lstm lstm => lstm.Forward(x, h0, c0) is var (o, (h, c)) ? [ToArray(o), ToArray(h), ToArray(c)] : [],
        Gru gru => gru.Forward(x, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
        Rnn rnn => rnn.Forward(x, h0) is var (o, h) ? [ToArray(o), ToArray(h)] : [],
        _ => throw new ArgumentOutOfRangeException(nameof(layer)),
    };

    /// <summary>[packed output data, h_n] or, LSTM, [.., c_n] of a Forward over a packed batch from zero states.</summary>
    public static float[][] Forward(RecurrentLayer layer, PackedSequence x) => layer switch
    {
        Lstm lstm => lstm.Forward(x) is var (o, (h, c)) ? [ToArray(o.Data), ToArray(h), ToArray(c)] : [],
        Gru gru => gru.Forward(x) is var (o, h) ? [ToArray(o.Data), ToArray(h)] : [],
        Rnn rnn => rnn.Forward(x) is var (o, h) ? [ToArray(o.Data), ToArray(h)] : [],
        _ => throw new ArgumentOutOfRangeException(nameof(layer)),
    };

    /// <summary>Every result equals its expected counterpart bit for bit; the message names the result and <paramref name="what"/>.</summary>
    public static void AssertBitIdentical(float[][] expected, float[][] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i].SequenceEqual(actual[i]), $"result {i} differs: {what}");
        }
    }
}
