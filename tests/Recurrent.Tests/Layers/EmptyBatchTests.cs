using System.Numerics.Tensors;
using static Recurrent.Tests.ArgumentAssert;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// A batch of no sequences (N = 0), as PyTorch 1.13 takes it: layers and cells return outputs and states with no
/// elements, of the shapes PyTorch gives (checked there: nn.LSTM(3, 4, 2, bidirectional=True) on a (5, 0, 3) input
/// returns output (5, 0, 8) and h_n, c_n (4, 0, 4); batch_first=True on (0, 5, 3) returns (0, 5, 4); nn.LSTMCell(3, 4)
/// on (0, 3) returns (0, 4) twice; an h0 of (4, 1, 4) for that batch raises "Expected hidden[0] size (4, 0, 4)").
/// An empty sequence (L = 0) still throws, as in PyTorch.
/// </summary>
public class EmptyBatchTests
{
    [Fact]
    public void Layers_EmptyBatch_ReturnEmptyOutputsOfPyTorchsShapes()
    {
        var lstm = new Lstm(3, 4, numLayers: 2, bidirectional: true, seed: 1).Eval();
        var (output, (h, c)) = lstm.Forward(Zeros(5, 0, 3));
        AssertShape(output, 5, 0, 8);
        AssertShape(h, 4, 0, 4);
        AssertShape(c, 4, 0, 4);

        (output, (h, c)) = lstm.Forward(Zeros(5, 0, 3), Zeros(4, 0, 4), Zeros(4, 0, 4));
        AssertShape(output, 5, 0, 8);
        AssertShape(h, 4, 0, 4);

        var (gruOutput, gruH) = new Gru(3, 4, numLayers: 2, batchFirst: true, seed: 1).Forward(Zeros(0, 5, 3));
        AssertShape(gruOutput, 0, 5, 4);
        AssertShape(gruH, 2, 0, 4);

        var (rnnOutput, rnnH) = new Rnn(3, 4, seed: 1).Forward(Zeros(7, 0, 3));
        AssertShape(rnnOutput, 7, 0, 4);
        AssertShape(rnnH, 1, 0, 4);

        var (projected, (hp, cp)) = new Lstm(3, 6, projSize: 2, seed: 1).Forward(Zeros(5, 0, 3));
        AssertShape(projected, 5, 0, 2);
        AssertShape(hp, 1, 0, 2);
        AssertShape(cp, 1, 0, 6);
    }

    [Fact]
    public void Layers_EmptyBatch_IntoBuffers_RunsWithOrWithoutState()
    {
        var lstm = new Lstm(3, 4, numLayers: 2, seed: 1) { MaxDegreeOfParallelism = 2 }.Eval();
        var workspace = new ForwardWorkspace();
        Tensor<float> output = Zeros(5, 0, 4), hn = Zeros(2, 0, 4), cn = Zeros(2, 0, 4);
        lstm.Forward(Zeros(5, 0, 3), default, default, output, hn, cn, workspace);
        lstm.Forward(Zeros(5, 0, 3), Zeros(2, 0, 4), Zeros(2, 0, 4), output, hn, cn, workspace);

        // The workspace is free again and still runs a real batch.
        var x = Randn(1, 5, 2, 3);
        Tensor<float> realOutput = Zeros(5, 2, 4), realH = Zeros(2, 2, 4), realC = Zeros(2, 2, 4);
        lstm.Forward(x, default, default, realOutput, realH, realC, workspace);
        Assert.Equal(ToArray(lstm.Forward(x).Output), ToArray(realOutput));
    }

    [Fact]
    public void Layers_EmptyBatch_StillCheckEveryShape()
    {
        var lstm = new Lstm(3, 4, numLayers: 2, bidirectional: true, seed: 1);
        Throws<ArgumentException>("h0", () => lstm.Forward(Zeros(5, 0, 3), Zeros(4, 1, 4), Zeros(4, 1, 4)), "(4, 0, 4)", "(4, 1, 4)");
        Throws<ArgumentException>("input", () => lstm.Forward(Zeros(5, 0, 2)), "input_size");
        Throws<ArgumentException>("output", () => lstm.Forward(Zeros(5, 0, 3), default, default, Zeros(5, 0, 4), Zeros(4, 0, 4), Zeros(4, 0, 4), new ForwardWorkspace()), "(5, 0, 8)");
        Throws<ArgumentException>("input", () => lstm.Forward(Zeros(0, 0, 3)), "non-empty");
    }

    [Fact]
    public void Cells_EmptyBatch_ReturnEmptyStates()
    {
        var (h, c) = new LstmCell(3, 4, seed: 1).Forward(Zeros(0, 3));
        AssertShape(h, 0, 4);
        AssertShape(c, 0, 4);
        AssertShape(new GruCell(3, 4, seed: 1).Forward(Zeros(0, 3), Zeros(0, 4)), 0, 4);
        AssertShape(new RnnCell(3, 4, seed: 1).Forward(Zeros(0, 3)), 0, 4);
        Throws<ArgumentException>("hx", () => new GruCell(3, 4, seed: 1).Forward(Zeros(0, 3), Zeros(1, 4)), "(0, 4)", "(1, 4)");
    }
}
