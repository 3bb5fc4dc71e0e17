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

    /// <summary>
    /// Shapes outside the suite, for <c>compare --shapes beyond</c>: what the suite leaves out and users run, each a
    /// different path of the library. Hidden sizes that are not a multiple of the 32-column panel (X1, X2, XC: partial
    /// panels, no split by units), mid-size batches (X2, X4, X7: the blocked product at 8–16 rows), small layers at batch
    /// 1 over long sequences (X3, X8, XA: per-step overhead), a narrow input under a stacked layer (X5), small hidden
    /// sizes with a large batch (X6, X9: lanes or not), bidirectional at batch 1 (XB), and a small layer at a small batch
    /// (XD: in lanes, its last chunk half running).
    /// </summary>
    public static readonly SuiteShape[] Beyond =
    [
        new("X1", CellType.Gru, Nonlinearity.Tanh, 100, 100, 1, false, 1, 100),
        new("X2", CellType.Lstm, Nonlinearity.Tanh, 300, 300, 1, false, 8, 50),
        new("X3", CellType.Lstm, Nonlinearity.Tanh, 128, 128, 1, false, 1, 200),
        new("X4", CellType.Gru, Nonlinearity.Tanh, 256, 256, 1, false, 16, 50),
        new("X5", CellType.Lstm, Nonlinearity.Tanh, 40, 256, 2, false, 1, 200),
        new("X6", CellType.Rnn, Nonlinearity.Tanh, 100, 200, 1, false, 32, 30),
        new("X7", CellType.Lstm, Nonlinearity.Tanh, 512, 512, 1, false, 8, 50),
        new("X8", CellType.Lstm, Nonlinearity.Tanh, 64, 64, 1, false, 1, 500),
        new("X9", CellType.Gru, Nonlinearity.Tanh, 64, 128, 1, true, 16, 40),
        new("XA", CellType.Lstm, Nonlinearity.Tanh, 1, 32, 1, false, 1, 1000),
        new("XB", CellType.Lstm, Nonlinearity.Tanh, 256, 256, 1, true, 1, 100),
        new("XC", CellType.Gru, Nonlinearity.Tanh, 80, 96, 2, false, 4, 100),
        new("XD", CellType.Gru, Nonlinearity.Tanh, 6, 16, 1, false, 8, 200),
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
