using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// At batch 1..4 consecutive steps stream W_hh in alternating panel order, counted over the workspace's lifetime, so
/// a call may start in either order. Results must not depend on it: a second call (starting in the other order) and
/// one-step streaming calls give the first call's bits. One-step calls of RNN and LSTM run as a single product over the
/// joined [W_ih | W_hh], which must also give the same bits.
/// </summary>
[Collection(HelperThreadsCollection.Name)] // alone, so the process-wide JoinedSteps counter moves only for this test
public class PanelOrderTests
{
    public static TheoryData<CellType, int, int> Layers() => new()
    {
        // cell, batch, projSize. H = 40: 160 LSTM gate columns = 5 panels (a row-kernel group and a leftover panel).
        { CellType.Lstm, 1, 0 },
        { CellType.Lstm, 2, 0 },
        { CellType.Lstm, 1, 24 },
        { CellType.Gru, 1, 0 },
        { CellType.Gru, 3, 0 },
        { CellType.Rnn, 1, 0 },
        { CellType.Rnn, 4, 0 },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void RepeatedAndStreamedCalls_StartingInEitherOrder_GiveTheSameBits(CellType cell, int batch, int projSize)
    {
        RecurrentLayer Make() => RecurrentLayer.Create(new RecurrentLayerOptions
        {
            CellType = cell, InputSize = 36, HiddenSize = 40, ProjSize = projSize, Seed = 5,
        }).Eval();
        int hOut = projSize > 0 ? projSize : 40;
        Tensor<float> x = Randn(1, 7, batch, 36), h0 = Randn(2, 1, batch, hOut), c0 = Randn(3, 1, batch, 40);

        // 7 steps: the first call's steps alternate from ascending, the second call's (on the same workspace) from
        // descending.
        RecurrentLayer layer = Make();
        float[][] first = LayerResults.Forward(layer, x, h0, c0);
        float[][] second = LayerResults.Forward(layer, x, h0, c0);
        LayerResults.AssertBitIdentical(first, second, "the second call, starting in the other order");
        LayerResults.AssertBitIdentical(first, LayerResults.Forward(Make(), x, h0, c0), "a fresh layer");

        // One step per call: each call's single step (and its input product) flips the order.
        RecurrentState state = layer.CreateState(batch);
        h0.AsTensorSpan().CopyTo(state.Hidden.AsTensorSpan());
        if (state.Cell is { } cellState)
        {
            c0.AsTensorSpan().CopyTo(cellState.AsTensorSpan());
        }

        var streamed = new List<float>();
        long joinedBefore = Recurrent.Execution.DirectionPass.JoinedSteps;
        for (int t = 0; t < 7; t++)
        {
            streamed.AddRange(ToArray(layer.Step(Tensor.Create(ToArray(x).AsSpan(t * batch * 36, batch * 36).ToArray(), [1, batch, 36]), state)));
        }

        // RNN and LSTM run each one-step call as one product over [W_ih | W_hh] (GRU cannot).
        Assert.Equal(cell != CellType.Gru, Recurrent.Execution.DirectionPass.JoinedSteps > joinedBefore);
        Assert.True(first[0].SequenceEqual(streamed), "one-step calls differ from the whole-sequence call");
        Assert.True(first[1].SequenceEqual(ToArray(state.Hidden)), "h after one-step calls differs");
    }

    /// <summary>A layer run with a batch of 2 or more on Vector256 gives its recurrent weights column vectors before the
    /// time loop (Gemm.PrepareColumnVectors; its products read them) if W_hh is at most Gemm.ColumnVectorsMaxWeightBytes,
    /// above a batch of 4 only if H is at least Gemm.ColumnVectorGroupsMinK (600 runs its groups in blocks:
    /// Gemm.ColumnVectorBlocksFromBytes); batch 1 and other paths build none (a second copy of W_hh is memory they would
    /// not use). Its input weights get them too, up to Gemm.InputColumnVectorsMaxWeightBytes, for input products of 2 rows
    /// or more (any batch here: 2 steps).</summary>
    [Fact]
    public void Batches_GiveTheRecurrentWeightsColumnVectors_OnVector256()
    {
        bool vector256 = Recurrent.Kernels.Gemm.BestPath == Recurrent.Kernels.KernelPath.Vector256;
        foreach ((int hidden, int batch, bool expected) in new[]
        {
            (64, 1, false), (64, 2, vector256), (64, 3, vector256), (64, 4, vector256), (64, 5, vector256), (64, 16, vector256),
            (600, 4, vector256), (600, 5, vector256), (600, 16, vector256), (1056, 5, false), (1056, 4, false), (40, 4, vector256), (40, 16, false),
        })
        {
            var layer = new Lstm(48, hidden, seed: 5).Eval();
            long hiddenBytes = 4L * hidden * hidden * sizeof(float);
            Assert.True((hidden >= 600) == (hiddenBytes > Recurrent.Kernels.Gemm.ColumnVectorBlocksFromBytes));
            Assert.True((hidden == 1056) == (hiddenBytes > Recurrent.Kernels.Gemm.ColumnVectorsMaxWeightBytes));
            Assert.True((hidden == 40) == (hidden < Recurrent.Kernels.Gemm.ColumnVectorGroupsMinK));
            layer.Forward(Randn(1, 2, batch, 48));
            var weights = layer.Parameters.Directions[0];
            Assert.Equal(expected, weights.HiddenWeights.HasColumnVectors);

            // The input product has 2 steps' rows (at least 2), k = 48 and W_ih within InputColumnVectorsMaxWeightBytes.
            Assert.True(4L * hidden * 48 * sizeof(float) <= Recurrent.Kernels.Gemm.InputColumnVectorsMaxWeightBytes);
            Assert.Equal(vector256, weights.InputWeights.HasColumnVectors);
        }
    }
}
