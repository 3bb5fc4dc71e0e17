using System.Buffers;
using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>What crosses the public boundary: views that are not dense read in logical order; inputs are never written.</summary>
public class TensorBoundaryTests
{
    [Fact]
    public void Forward_NonDenseSlices_GiveTheSameResultAsDenseCopies()
    {
        var lstm = new Lstm(4, 3, numLayers: 2, seed: 1);
        Tensor<float> wide = Randn(1, 5, 2, 6);
        Tensor<float> x = wide.Slice([NRange.All, NRange.All, new NRange(1, 5)]);   // (5, 2, 4) with row stride 6
        Assert.False(x.IsDense);
        Tensor<float> h0Wide = Randn(2, 2, 2, 5);
        Tensor<float> h0 = h0Wide.Slice([NRange.All, NRange.All, new NRange(0, 3)]);
        Tensor<float> c0 = Randn(3, 2, 2, 3);

        var (output, (hn, cn)) = lstm.Forward(x, (h0, c0));
        var (dense, (hnDense, cnDense)) = lstm.Forward(Tensor.Create(ToArray(x), [5, 2, 4]), (Tensor.Create(ToArray(h0), [2, 2, 3]), c0));

        Assert.Equal(ToArray(dense), ToArray(output));
        Assert.Equal(ToArray(hnDense), ToArray(hn));
        Assert.Equal(ToArray(cnDense), ToArray(cn));
    }

    [Fact]
    public void Forward_BatchFirst_LeavesTheCallersTensorsUnchanged()
    {
        var gru = new Gru(4, 3, batchFirst: true, bidirectional: true, seed: 1);
        Tensor<float> x = Randn(1, 2, 5, 4);
        Tensor<float> h0 = Randn(2, 2, 2, 3);
        float[] xBefore = ToArray(x), h0Before = ToArray(h0);
        gru.Forward(x, h0);
        Assert.Equal(xBefore, ToArray(x));
        Assert.Equal(h0Before, ToArray(h0));
    }
}
