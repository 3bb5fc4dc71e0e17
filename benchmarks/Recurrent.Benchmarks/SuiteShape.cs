namespace Recurrent.Benchmarks;

/// <summary>One row of the benchmark suite (shared/reference/performance.md): a layer and the input it runs on.</summary>
public sealed record SuiteShape(string Id, CellType Cell, Nonlinearity Nonlinearity, int InputSize, int HiddenSize, int Layers, bool Bidirectional, int Batch, int Steps)
    : IHasFlops
{
    /// <summary>The suite's shapes that run through one Forward call (ST, one step per call, is the streaming issue's).</summary>
    public static readonly SuiteShape[] All =
    [
        new("T1", CellType.Lstm, Nonlinearity.Tanh, 10, 5, 1, false, 64, 12),
        new("T2", CellType.Rnn, Nonlinearity.Tanh, 20, 10, 4, true, 64, 5),
        new("S1", CellType.Lstm, Nonlinearity.Tanh, 256, 256, 1, false, 1, 150),
        new("S2", CellType.Lstm, Nonlinearity.Tanh, 256, 256, 1, false, 4, 150),
        new("S3", CellType.Lstm, Nonlinearity.Tanh, 512, 512, 1, false, 1, 25),
        new("S4", CellType.Lstm, Nonlinearity.Tanh, 1024, 1024, 1, false, 1, 25),
        new("S5", CellType.Gru, Nonlinearity.Tanh, 512, 512, 1, false, 1, 100),
        new("S6", CellType.Rnn, Nonlinearity.Relu, 64, 64, 1, false, 1, 96),
        new("L1", CellType.Lstm, Nonlinearity.Tanh, 512, 512, 1, false, 64, 25),
        new("L2", CellType.Lstm, Nonlinearity.Tanh, 1024, 1024, 1, false, 64, 25),
        new("L3", CellType.Lstm, Nonlinearity.Tanh, 256, 256, 1, false, 64, 150),
        new("L4", CellType.Gru, Nonlinearity.Tanh, 512, 512, 1, false, 64, 25),
        new("L5", CellType.Rnn, Nonlinearity.Relu, 1760, 1760, 1, false, 64, 50),
        new("F1", CellType.Lstm, Nonlinearity.Tanh, 128, 128, 2, true, 32, 50),
    ];

    /// <summary>Floating-point operations of the matrix products: Σ over layers and directions of 2·L·N·G·H·(H_in + H).</summary>
    public double Flops
    {
        get
        {
            int gates = Cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };
            int directions = Bidirectional ? 2 : 1;
            double total = 0;
            for (int layer = 0; layer < Layers; layer++)
            {
                int layerInput = layer == 0 ? InputSize : directions * HiddenSize;
                total += directions * 2.0 * Steps * Batch * gates * HiddenSize * (layerInput + HiddenSize);
            }

            return total;
        }
    }

    public RecurrentLayer CreateLayer() => RecurrentLayer.Create(new RecurrentLayerOptions
    {
        CellType = Cell, Nonlinearity = Nonlinearity, InputSize = InputSize, HiddenSize = HiddenSize, NumLayers = Layers,
        Bidirectional = Bidirectional, Seed = 1,
    }).Eval();

    /// <summary>The shape's input, (L, N, H_in), seq-first: uniform in [-1, 1) from a fixed seed.</summary>
    public System.Numerics.Tensors.Tensor<float> CreateInput()
    {
        var random = new Random(1);
        var data = new float[Steps * Batch * InputSize];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = random.NextSingle() * 2 - 1;
        }

        return System.Numerics.Tensors.Tensor.Create(data, [Steps, Batch, InputSize]);
    }

    public override string ToString() => Id;
}
