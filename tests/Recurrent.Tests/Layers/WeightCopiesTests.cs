using System.Numerics.Tensors;
using Recurrent.Kernels;
using Recurrent.Parameters;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// <see cref="RecurrentModule.AllowWeightCopies"/>: true by default, where a batch of 2 or more on Vector256 builds column
/// vectors of W_ih, W_hh and W_hr; false builds none (the weights packed anew, so none built before is kept), with the
/// same output bits; the setting survives LoadStateDict and WeightFormat changes, and true again builds them on the
/// next forward.
/// </summary>
public class WeightCopiesTests
{
    [Theory]
    [InlineData(CellType.Lstm, 0)]
    [InlineData(CellType.Lstm, 48)] // W_hh 256 × 48: k at ColumnVectorGroupsMinK; W_hr 48 × 64: one full panel
    [InlineData(CellType.Gru, 0)]
    [InlineData(CellType.Rnn, 0)]
    public void WithoutCopies_NoColumnVectors_AndTheSameBits(CellType cell, int projSize)
    {
        bool vector256 = Gemm.BestPath == KernelPath.Vector256;
        RecurrentLayer layer = cell switch
        {
            CellType.Lstm => new Lstm(48, 64, projSize: projSize, seed: 5),
            CellType.Gru => new Gru(48, 64, seed: 5),
            _ => new Rnn(48, 64, seed: 5),
        };
        layer.Eval();
        Tensor<float> x = Randn(7, 3, 6, 48); // batch 6: groups of rows on the column vectors
        float[] Run() => ToArray(layer switch
        {
            Lstm lstm => lstm.Forward(x).Output,
            Gru gru => gru.Forward(x).Output,
            Rnn rnn => rnn.Forward(x).Output,
            _ => throw new InvalidOperationException(),
        });

        Assert.True(layer.AllowWeightCopies);
        float[] withCopies = Run();
        AssertCopies(layer, vector256, "default");

        layer.AllowWeightCopies = false;
        Assert.False(layer.AllowWeightCopies);
        AssertCopies(layer, false, "packed anew without copies");
        Assert.Equal(withCopies, Run());
        AssertCopies(layer, false, "after a forward without copies");

        layer.LoadStateDict(layer.StateDict());
        layer.WeightFormat = WeightFormat.BFloat16;
        layer.WeightFormat = WeightFormat.Float32;
        Assert.False(layer.AllowWeightCopies);
        Assert.Equal(withCopies, Run());
        AssertCopies(layer, false, "after a load and format changes");

        layer.AllowWeightCopies = true;
        Assert.Equal(withCopies, Run());
        AssertCopies(layer, vector256, "copies allowed again");
    }

    private static void AssertCopies(RecurrentLayer layer, bool expected, string when)
    {
        DirectionWeights weights = layer.Parameters.Directions[0];
        Assert.True(expected == weights.InputWeights.HasColumnVectors, $"W_ih {when}");
        Assert.True(expected == weights.HiddenWeights.HasColumnVectors, $"W_hh {when}");
        if (weights.ProjectionWeights is { } projection)
        {
            Assert.True(expected == projection.HasColumnVectors, $"W_hr {when}");
        }
    }
}
