using System.Numerics.Tensors;
using Recurrent.Tests.Reference;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Sequences;

/// <summary>
/// A padded batch with lengths equals each sequence run on its own through the double-precision oracle: outputs up
/// to its length, zeros past it, final states after its own last step (reverse direction: after its step 0).
/// </summary>
public class VariableLengthForwardTests
{
    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 100));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void PaddedWithLengths_RandomConfiguration_EachSequenceMatchesTheOracleAlone(int seed)
    {
        var random = new Random(seed);
        var cellType = (CellType)random.Next(3);
        int hidden = random.Next(2, 20);
        var options = new RecurrentLayerOptions
        {
            CellType = cellType,
            InputSize = random.Next(1, 20),
            HiddenSize = hidden,
            NumLayers = random.Next(1, 4),
            Bias = random.Next(4) != 0,
            BatchFirst = random.Next(2) == 1,
            Bidirectional = random.Next(2) == 1,
            ProjSize = cellType == CellType.Lstm && random.Next(3) == 0 ? random.Next(1, hidden) : 0,
            Seed = seed,
        };
        int steps = random.Next(1, 10), batch = random.Next(1, 7);
        int[] lengths = Enumerable.Range(0, batch).Select(_ => random.Next(1, steps + 1)).ToArray();
        bool withState = random.Next(2) == 1;
        string context = $"seed {seed}: {options} L={steps} lengths=[{string.Join(", ", lengths)}] state={withState}";

        RecurrentLayer layer = RecurrentLayer.Create(options).Eval();
        int stateRows = (options.Bidirectional ? 2 : 1) * options.NumLayers;
        int hOut = options.ProjSize > 0 ? options.ProjSize : hidden;
        int width = (options.Bidirectional ? 2 : 1) * hOut;
        float[] x = ToArray(Randn(seed, steps, batch, options.InputSize));   // padding positions hold noise too
        float[]? h0 = withState ? ToArray(Randn(seed + 100, stateRows, batch, hOut)) : null;
        float[]? c0 = withState && cellType == CellType.Lstm ? ToArray(Randn(seed + 200, stateRows, batch, hidden)) : null;

        Tensor<float> input = options.BatchFirst
            ? Tensor.Create(SwapLeading(x, steps, batch, options.InputSize), [batch, steps, options.InputSize])
            : Tensor.Create(x, [steps, batch, options.InputSize]);
        Tensor<float>? h0Tensor = h0 is null ? null : Tensor.Create(h0, [stateRows, batch, hOut]);
        Tensor<float>? c0Tensor = c0 is null ? null : Tensor.Create(c0, [stateRows, batch, hidden]);
        (Tensor<float> output, Tensor<float> hn, Tensor<float>? cn) = layer switch
        {
            Lstm lstm => Unpack(lstm.Forward(input, lengths, h0Tensor, c0Tensor)),
            Gru gru => WithoutCell(gru.Forward(input, lengths, h0Tensor)),
            Rnn rnn => WithoutCell(rnn.Forward(input, lengths, h0Tensor)),
            _ => throw new InvalidOperationException(),
        };

        Assert.Equal(input.Lengths[..2].ToArray(), output.Lengths[..2].ToArray());
        float[] actual = options.BatchFirst ? SwapLeading(ToArray(output), batch, steps, width) : ToArray(output);
        float[] actualHidden = ToArray(hn);
        float[]? actualCell = cn is null ? null : ToArray(cn);
        StateDict weights = layer.StateDict();
        for (int n = 0; n < batch; n++)
        {
            int length = lengths[n];
            float[] xn = Rows(x, steps, batch, options.InputSize, n)[..(length * options.InputSize)];
            var expected = ReferenceRecurrent.Run(options, weights, xn, length, 1, StateRows(h0, stateRows, batch, hOut, n), StateRows(c0, stateRows, batch, hidden, n));
            float[] outputRows = Rows(actual, steps, batch, width, n);
            Tolerance.AssertClose(expected.Output, outputRows.AsSpan(0, length * width), $"{context} sequence {n} output");
            Assert.All(outputRows[(length * width)..], v => Assert.Equal(0f, v));
            Tolerance.AssertClose(expected.Hidden, StateRows(actualHidden, stateRows, batch, hOut, n), $"{context} sequence {n} h_n");
            if (actualCell is not null)
            {
                Tolerance.AssertClose(expected.Cell, StateRows(actualCell, stateRows, batch, hidden, n), $"{context} sequence {n} c_n");
            }
        }
    }

    /// <summary>Sequence n's rows of a seq-first (L, N, F) array, (L, F).</summary>
    private static float[] Rows(float[] data, int steps, int batch, int features, int n)
    {
        var rows = new float[steps * features];
        for (int t = 0; t < steps; t++)
        {
            Array.Copy(data, (t * batch + n) * features, rows, t * features, features);
        }

        return rows;
    }

    /// <summary>Sequence n's slice of states (S, N, F), as (S, 1, F); null stays null.</summary>
    private static float[]? StateRows(float[]? states, int stateRows, int batch, int features, int n) =>
        states is null ? null : Rows(states, stateRows, batch, features, n);

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) Unpack((Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) r) =>
        (r.Output, r.State.H, r.State.C);

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) WithoutCell((Tensor<float> Output, Tensor<float> Hidden) r) => (r.Output, r.Hidden, null);
}
