using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Tutorial;

/// <summary>
/// Every cell of the tutorial (shared/seed/rnn-notebook.md) in C#: the same modules, the same inputs' shapes, and the
/// shapes the notebook prints. Cell numbers are the notebook's "In [n]".
/// </summary>
public class TutorialNotebookTests
{
    [Fact]
    public void VanillaRnn_Cells3To5_SeqFirstOutputShapes()
    {
        var rnn = new Rnn(inputSize: 10, hiddenSize: 5, numLayers: 1);                 // In [3]
        Tensor<float> x0 = Randn(4, 12, 64, 10);                                          // In [4]
        Tensor<float> h0 = Zeros(1, 64, 5);
        AssertShape(x0, 12, 64, 10);
        AssertShape(h0, 1, 64, 5);

        var (output, h1) = rnn.Forward(x0, h0);                                           // In [5]
        AssertShape(output, 12, 64, 5);
        AssertShape(h1, 1, 64, 5);
    }

    [Fact]
    public void VanillaRnn_Cells6To8_BatchFirstStackedShapes()
    {
        var rnn = new Rnn(inputSize: 10, hiddenSize: 5, numLayers: 2, batchFirst: true);   // In [6]
        Tensor<float> x0 = Randn(7, 64, 12, 10);                                          // In [7]
        Tensor<float> h0 = Zeros(2, 64, 5);               // the state is never batch-first

        var (output, h1) = rnn.Forward(x0, h0);                                           // In [8]
        AssertShape(output, 64, 12, 5);
        AssertShape(h1, 2, 64, 5);
    }

    [Fact]
    public void VanillaRnn_Cell9_BidirectionalStackedShapes()
    {
        var rnn = new Rnn(inputSize: 20, hiddenSize: 10, numLayers: 4, bidirectional: true);   // In [9]
        Tensor<float> x0 = Randn(9, 5, 64, 20);
        Tensor<float> h0 = Zeros(4 * 2, 64, 10);

        var (output, h1) = rnn.Forward(x0, h0);
        AssertShape(output, 5, 64, 20);
        AssertShape(h1, 8, 64, 10);
    }

    [Fact]
    public void Gru_Cells10To12_Shapes()
    {
        var gru = new Gru(inputSize: 10, hiddenSize: 5, numLayers: 1);                  // In [10]
        Tensor<float> x0 = Randn(11, 12, 64, 10);                                         // In [11]
        Tensor<float> h0 = Zeros(1, 64, 5);

        var (output, h1) = gru.Forward(x0, h0);                                           // In [12]
        AssertShape(output, 12, 64, 5);
        AssertShape(h1, 1, 64, 5);
    }

    [Fact]
    public void Lstm_Cells13To15_WithoutInitialStateShapes()
    {
        var lstm = new Lstm(inputSize: 10, hiddenSize: 5, numLayers: 1);                 // In [13]
        Tensor<float> x0 = Randn(14, 1, 64, 10);                                          // In [14]

        var (xn, (hn, cn)) = lstm.Forward(x0);                                            // In [15]
        AssertShape(xn, 1, 64, 5);
        AssertShape(hn, 1, 64, 5);
        AssertShape(cn, 1, 64, 5);
    }

    [Fact]
    public void Lstm_Cell16_WithZeroInitialStateMatchesNoState()
    {
        var lstm = new Lstm(inputSize: 10, hiddenSize: 5, numLayers: 1, seed: 13);
        Tensor<float> x0 = Randn(16, 1, 64, 10);                                          // In [16]
        Tensor<float> h0 = Zeros(1, 64, 5), c0 = Zeros(1, 64, 5);

        var (xn, (hn, cn)) = lstm.Forward(x0, (h0, c0));
        AssertShape(xn, 1, 64, 5);
        AssertShape(hn, 1, 64, 5);
        AssertShape(cn, 1, 64, 5);

        // The notebook's comment: "when initial hidden & cell state are not given, they are regarded as zero".
        var (xnDefault, (hnDefault, cnDefault)) = lstm.Forward(x0);
        Assert.Equal(ToArray(xnDefault), ToArray(xn));
        Assert.Equal(ToArray(hnDefault), ToArray(hn));
        Assert.Equal(ToArray(cnDefault), ToArray(cn));
    }

    [Fact]
    public void Lstm_Cells17To18_StackedBidirectionalShapes()
    {
        var lstm = new Lstm(inputSize: 10, hiddenSize: 5, numLayers: 2, bidirectional: true);   // In [17]
        Tensor<float> x0 = Randn(18, 5, 64, 10);                                                // In [18]
        Tensor<float> h0 = Zeros(4, 64, 5), c0 = Zeros(4, 64, 5);

        var (xn, (hn, cn)) = lstm.Forward(x0, (h0, c0));
        AssertShape(xn, 5, 64, 10);
        AssertShape(hn, 4, 64, 5);
        AssertShape(cn, 4, 64, 5);
    }
}
