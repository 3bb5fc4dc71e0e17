using System.Numerics.Tensors;
using Recurrent.Tests.Reference;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// Seeded random configurations (cell, sizes, layers, directions, projection, layout, state) run through the library
/// and through the plain double-precision oracle; a failure names the seed and the configuration.
/// </summary>
public class RandomConfigurationTests
{
    public static TheoryData<int> Seeds()
    {
        var seeds = new TheoryData<int>();
        for (int seed = 1; seed <= 300; seed++)
        {
            seeds.Add(seed);
        }

        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Forward_RandomConfiguration_MatchesScalarReference(int seed)
    {
        var random = new Random(seed);
        var cellType = (CellType)random.Next(3);
        int hidden = random.Next(1, 40);
        var options = new RecurrentLayerOptions
        {
            CellType = cellType,
            InputSize = random.Next(1, 45),
            HiddenSize = hidden,
            NumLayers = random.Next(1, 4),
            Nonlinearity = cellType == CellType.Rnn && random.Next(2) == 1 ? Nonlinearity.Relu : Nonlinearity.Tanh,
            Bias = random.Next(4) != 0,
            BatchFirst = random.Next(2) == 1,
            Bidirectional = random.Next(2) == 1,
            ProjSize = cellType == CellType.Lstm && hidden > 1 && random.Next(3) == 0 ? random.Next(1, hidden) : 0,
            Seed = seed,
        };
        bool unbatched = random.Next(5) == 0;
        bool withState = random.Next(2) == 1;
        int steps = random.Next(1, 13);
        int batch = unbatched ? 1 : random.Next(1, 7);
        string context = $"seed {seed}: {options} unbatched={unbatched} state={withState} L={steps} N={batch}";

        RecurrentLayer layer = RecurrentLayer.Create(options);
        int stateRows = (options.Bidirectional ? 2 : 1) * options.NumLayers;
        int hOut = options.ProjSize > 0 ? options.ProjSize : hidden;
        float[] x = ToArray(Randn(seed * 7 + 1, steps, batch, options.InputSize));
        float[]? h0 = withState ? ToArray(Randn(seed * 7 + 2, stateRows, batch, hOut)) : null;
        float[]? c0 = withState && cellType == CellType.Lstm ? ToArray(Randn(seed * 7 + 3, stateRows, batch, hidden)) : null;
        var expected = ReferenceRecurrent.Run(options, layer.StateDict(), x, steps, batch, h0, c0);

        // The caller's layout: batch-first swaps the two leading axes, unbatched drops N (states too).
        Tensor<float> input = unbatched ? Tensor.Create(x, [steps, options.InputSize])
            : options.BatchFirst ? Tensor.Create(SwapLeading(x, steps, batch, options.InputSize), [batch, steps, options.InputSize])
            : Tensor.Create(x, [steps, batch, options.InputSize]);
        Tensor<float>? h0Tensor = h0 is null ? null : unbatched ? Tensor.Create(h0, [stateRows, hOut]) : Tensor.Create(h0, [stateRows, batch, hOut]);
        Tensor<float>? c0Tensor = c0 is null ? null : unbatched ? Tensor.Create(c0, [stateRows, hidden]) : Tensor.Create(c0, [stateRows, batch, hidden]);

        (Tensor<float> output, Tensor<float> hn, Tensor<float>? cn) = layer switch
        {
            Lstm lstm => Unpack(lstm.Forward(input, h0Tensor, c0Tensor)),
            Gru gru => WithoutCell(gru.Forward(input, h0Tensor)),
            Rnn rnn => WithoutCell(rnn.Forward(input, h0Tensor)),
            _ => throw new InvalidOperationException(),
        };

        float[] actualOutput = ToArray(output);
        if (options.BatchFirst && !unbatched)
        {
            actualOutput = SwapLeading(actualOutput, batch, steps, actualOutput.Length / (batch * steps));
        }

        Tolerance.AssertClose(expected.Output, actualOutput, context + " output");
        Tolerance.AssertClose(expected.Hidden, ToArray(hn), context + " h_n");
        if (cn is not null)
        {
            Tolerance.AssertClose(expected.Cell, ToArray(cn), context + " c_n");
        }
    }

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) Unpack((Tensor<float> Output, (Tensor<float> H, Tensor<float> C) State) r) =>
        (r.Output, r.State.H, r.State.C);

    private static (Tensor<float>, Tensor<float>, Tensor<float>?) WithoutCell((Tensor<float> Output, Tensor<float> Hidden) r) => (r.Output, r.Hidden, null);
}
