using System.Numerics.Tensors;
using static Recurrent.Tests.ArgumentAssert;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// Every bad call named by the core issue throws an ArgumentException naming the argument, with the expected and
/// actual shape or value in the message, and leaves the module and the caller's tensors as they were.
/// </summary>
public class BadInputTests
{
    /// <summary>Runs <paramref name="call"/>, which must throw, and checks the module's weights and the tensors kept their values.</summary>
    private static void AssertUnchanged(RecurrentModule module, Action call, params Tensor<float>[] tensors)
    {
        var weightsBefore = module.StateDict().ToDictionary(kv => kv.Key, kv => ToArray(kv.Value));
        var tensorsBefore = tensors.Select(ToArray).ToArray();
        Assert.ThrowsAny<ArgumentException>(call);
        foreach (var (name, value) in module.StateDict())
        {
            Assert.Equal(weightsBefore[name], ToArray(value));
        }

        for (int i = 0; i < tensors.Length; i++)
        {
            Assert.Equal(tensorsBefore[i], ToArray(tensors[i]));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Lstm_InputRankNotTwoOrThree_ThrowsNamingShape(int rank)
    {
        var lstm = new Lstm(10, 5);
        Tensor<float> x = rank == 1 ? Randn(1, 10) : Randn(1, 2, 3, 4, 10);
        string shape = rank == 1 ? "(10)" : "(2, 3, 4, 10)";
        Throws<ArgumentException>("input", () => lstm.Forward(x), $"{rank}-D", shape, "(L, N, H_in)");
        AssertUnchanged(lstm, () => lstm.Forward(x), x);
    }

    [Fact]
    public void Rnn_LastDimensionNotInputSize_ThrowsWithExpectedAndActual()
    {
        var rnn = new Rnn(10, 5);
        Tensor<float> x = Randn(1, 12, 64, 9);
        Throws<ArgumentException>("input", () => rnn.Forward(x), "expected 10, got 9", "(12, 64, 9)");
    }

    [Fact]
    public void Gru_WrongHiddenStateShape_ThrowsWithExpectedAndActual()
    {
        var gru = new Gru(10, 5, numLayers: 2);
        Tensor<float> x = Randn(1, 12, 64, 10);
        Tensor<float> h0 = Randn(2, 1, 64, 5);
        Throws<ArgumentException>("h0", () => gru.Forward(x, h0), "(2, 64, 5)", "(1, 64, 5)");
        AssertUnchanged(gru, () => gru.Forward(x, h0), x, h0);
    }

    [Fact]
    public void Rnn_BatchedInputWithUnbatchedState_ThrowsRankMismatch()
    {
        var rnn = new Rnn(10, 5);
        Throws<ArgumentException>("h0", () => rnn.Forward(Randn(1, 12, 64, 10), Randn(2, 1, 5)), "3-D", "(1, 64, 5)", "2-D", "(1, 5)");
    }

    [Fact]
    public void Rnn_UnbatchedInputWithBatchedState_ThrowsRankMismatch()
    {
        var rnn = new Rnn(10, 5);
        Throws<ArgumentException>("h0", () => rnn.Forward(Randn(1, 12, 10), Randn(2, 1, 1, 5)), "2-D", "(1, 5)", "3-D", "(1, 1, 5)");
    }

    [Fact]
    public void Lstm_WrongCellStateShape_ThrowsWithExpectedAndActual()
    {
        var lstm = new Lstm(10, 5, projSize: 3);
        Tensor<float> x = Randn(1, 4, 2, 10);

        // With projection h0 has proj_size columns and c0 hidden_size: giving c0 the h0 shape is the classic mistake.
        Throws<ArgumentException>("c0", () => lstm.Forward(x, (Zeros(1, 2, 3), Zeros(1, 2, 3))), "(1, 2, 5)", "(1, 2, 3)");
        Throws<ArgumentException>("h0", () => lstm.Forward(x, (Zeros(1, 2, 5), Zeros(1, 2, 5))), "(1, 2, 3)", "(1, 2, 5)");
    }

    [Fact]
    public void Lstm_HiddenWithoutCell_Throws()
    {
        var lstm = new Lstm(10, 5);
        Tensor<float> x = Randn(1, 4, 2, 10);
        Throws<ArgumentException>("c0", () => lstm.Forward(x, Zeros(1, 2, 5), null), "h0 without c0");
        Throws<ArgumentException>("h0", () => lstm.Forward(x, null, Zeros(1, 2, 5)), "c0 without h0");
        Throws<ArgumentException>("c", () => new LstmCell(10, 5).Forward(Randn(1, 2, 10), Zeros(2, 5), null), "h without c");
    }

    [Fact]
    public void Layers_EmptySequence_Throws()
    {
        Throws<ArgumentException>("input", () => new Lstm(10, 5).Forward(Zeros(0, 3, 10)), "non-empty", "(0, 3, 10)");
        Throws<ArgumentException>("input", () => new Gru(10, 5, batchFirst: true).Forward(Zeros(3, 0, 10)), "non-empty", "(3, 0, 10)");
        Throws<ArgumentException>("input", () => new Rnn(10, 5).Forward(Zeros(0, 10)), "non-empty", "(0, 10)");
    }

    [Theory]
    [InlineData(0, 5, 1, "inputSize")]
    [InlineData(-3, 5, 1, "inputSize")]
    [InlineData(10, 0, 1, "hiddenSize")]
    [InlineData(10, -1, 1, "hiddenSize")]
    [InlineData(10, 5, 0, "numLayers")]
    public void Constructors_NonPositiveSizes_Throw(int inputSize, int hiddenSize, int numLayers, string paramName)
    {
        int bad = paramName switch { "inputSize" => inputSize, "hiddenSize" => hiddenSize, _ => numLayers };
        string got = $"got {bad}";
        Throws<ArgumentOutOfRangeException>(paramName, () => new Rnn(inputSize, hiddenSize, numLayers), got);
        Throws<ArgumentOutOfRangeException>(paramName, () => new Gru(inputSize, hiddenSize, numLayers), got);
        Throws<ArgumentOutOfRangeException>(paramName, () => new Lstm(inputSize, hiddenSize, numLayers), got);
        if (paramName != "numLayers")
        {
            Throws<ArgumentOutOfRangeException>(paramName, () => new RnnCell(inputSize, hiddenSize), got);
            Throws<ArgumentOutOfRangeException>(paramName, () => new GruCell(inputSize, hiddenSize), got);
            Throws<ArgumentOutOfRangeException>(paramName, () => new LstmCell(inputSize, hiddenSize), got);
        }
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Constructors_DropoutOutsideUnitInterval_Throw(double dropout)
    {
        Throws<ArgumentOutOfRangeException>("dropout", () => new Lstm(10, 5, numLayers: 2, dropout: dropout), "[0, 1]");
        Throws<ArgumentOutOfRangeException>("dropout", () => new Rnn(10, 5, numLayers: 2, dropout: dropout), "[0, 1]");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5)]
    [InlineData(9)]
    public void Lstm_ProjSizeOutsideZeroToHidden_Throws(int projSize) =>
        Throws<ArgumentOutOfRangeException>("projSize", () => new Lstm(10, 5, projSize: projSize), "[0, 5)", $"got {projSize}");

    [Theory]
    [InlineData(CellType.Rnn)]
    [InlineData(CellType.Gru)]
    public void Create_ProjSizeOnRnnOrGru_Throws(CellType cellType) =>
        Throws<ArgumentException>(
            "projSize",
            () => RecurrentLayer.Create(new RecurrentLayerOptions { CellType = cellType, InputSize = 10, HiddenSize = 5, ProjSize = 2 }),
            "only supported for LSTM");

    [Fact]
    public void Constructors_UnknownNonlinearity_Throws()
    {
        Throws<ArgumentOutOfRangeException>("nonlinearity", () => new Rnn(10, 5, nonlinearity: (Nonlinearity)7), "Unknown nonlinearity 7");
        Throws<ArgumentOutOfRangeException>("nonlinearity", () => new RnnCell(10, 5, nonlinearity: (Nonlinearity)(-1)), "Unknown nonlinearity");
        Throws<ArgumentException>(
            "nonlinearity",
            () => RecurrentLayer.Create(new RecurrentLayerOptions { CellType = CellType.Gru, InputSize = 10, HiddenSize = 5, Nonlinearity = Nonlinearity.Relu }),
            "RNN only");
    }

    [Fact]
    public void Cells_WrongRankOrSize_Throw()
    {
        var cell = new GruCell(10, 5);
        Throws<ArgumentException>("input", () => cell.Forward(Randn(1, 1, 2, 10)), "3-D", "(1, 2, 10)");
        Throws<ArgumentException>("input", () => cell.Forward(Randn(1, 2, 11)), "expected 10, got 11");
        Throws<ArgumentException>("hx", () => cell.Forward(Randn(1, 2, 10), Zeros(3, 5)), "(2, 5)", "(3, 5)");
        Throws<ArgumentException>("hx", () => cell.Forward(Randn(1, 10), Zeros(1, 5)), "1-D", "(5)", "(1, 5)");
        var lstmCell = new LstmCell(10, 5);
        Throws<ArgumentException>("c", () => lstmCell.Forward(Randn(1, 2, 10), (Zeros(2, 5), Zeros(2, 4))), "(2, 5)", "(2, 4)");
    }

    [Fact]
    public void Forward_NullInput_ThrowsArgumentNull()
    {
        Throws<ArgumentNullException>("input", () => new Lstm(10, 5).Forward((Tensor<float>)null!));
        Throws<ArgumentNullException>("input", () => new Lstm(10, 5).Forward((PackedSequence)null!));
        Throws<ArgumentNullException>("input", () => new RnnCell(10, 5).Forward(null!));
    }

    [Fact]
    public void Constructors_ParameterTooLargeForAnArray_ThrowInsteadOfWrapping()
    {
        // 64 × 67,108,865 elements would wrap a 32-bit count to a tiny matrix and silently ignore most of the input.
        Throws<ArgumentOutOfRangeException>("inputSize", () => new Rnn(67_108_865, 64), "exceeds");
        Throws<ArgumentOutOfRangeException>("hiddenSize", () => new Lstm(10, 600_000_000), "exceeds");
    }

    [Fact]
    public void Cells_BadCalls_LeaveTheCellAndInputsUnchanged()
    {
        var cell = new LstmCell(4, 3, seed: 1);
        Tensor<float> x = Randn(1, 2, 4), h = Randn(2, 2, 3), c = Randn(3, 2, 2);
        AssertUnchanged(cell, () => cell.Forward(x, (h, c)), x, h, c);
        var gru = new Gru(4, 3, seed: 1);
        Tensor<float> padded = Randn(4, 5, 2, 4);
        AssertUnchanged(gru, () => gru.Forward(padded, [5, 0]), padded);
    }
}
