using System.Globalization;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// One row of the comparison: a suite shape, run either as one Forward call over the whole sequence or, when
/// <see cref="Streaming"/>, as <see cref="SuiteShape.Steps"/> calls of one step each with the state carried between
/// them. Both compute the same function of the same weights and input, so both have the same FLOPs and the same
/// expected outputs.
/// </summary>
internal sealed record CompareShape(SuiteShape Shape, bool Streaming)
{
    /// <summary>The suite in performance.md's order: T1, T2, S1..S6, L1..L5, F1, then ST (S1's layer and input, streamed).</summary>
    public static readonly CompareShape[] All =
    [
        .. SuiteShape.All.Select(shape => new CompareShape(shape, Streaming: false)),
        new(SuiteShape.All.Single(shape => shape.Id == "S1") with { Id = "ST" }, Streaming: true),
    ];

    public string Id => Shape.Id;

    public double Flops => Shape.Flops;

    public string Description
    {
        get
        {
            var text = new System.Text.StringBuilder();
            text.Append(Shape.Cell switch { CellType.Lstm => "LSTM", CellType.Gru => "GRU", _ => "RNN" });
            if (Shape.Cell == CellType.Rnn)
            {
                text.Append(Shape.Nonlinearity == Nonlinearity.Relu ? " relu" : " tanh");
            }

            text.Append(CultureInfo.InvariantCulture, $" {Shape.InputSize}→{Shape.HiddenSize}");
            if (Shape.Layers > 1)
            {
                text.Append(CultureInfo.InvariantCulture, $", {Shape.Layers} layers");
            }

            if (Shape.Bidirectional)
            {
                text.Append(", bidir");
            }

            text.Append(CultureInfo.InvariantCulture, $", N={Shape.Batch}, ");
            text.Append(Streaming ? $"{Shape.Steps} one-step calls" : $"L={Shape.Steps}");
            return text.ToString();
        }
    }

    /// <summary>
    /// Bytes of weights every step must read, for the shapes whose time is bounded by reading them from L2 (batch 1,
    /// weights that fit L2): W_hh for S1; W_hh and W_ih for ST, whose one-step calls cannot hoist the input product
    /// out of the time loop. Null for the other shapes.
    /// </summary>
    public long? WeightBytesPerStep
    {
        get
        {
            if (Id is not ("S1" or "ST"))
            {
                return null;
            }

            long gateRows = Gates * Shape.HiddenSize;
            long recurrent = gateRows * Shape.HiddenSize * sizeof(float);
            long input = gateRows * Shape.InputSize * sizeof(float);
            return Streaming ? recurrent + input : recurrent;
        }
    }

    private int Gates => Shape.Cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };

    /// <summary>Selects shapes by id (case-insensitive), in the suite's order.</summary>
    /// <exception cref="ArgumentException">An id is not in the suite.</exception>
    public static CompareShape[] Select(IReadOnlyCollection<string> ids)
    {
        var unknown = ids.Where(id => !All.Any(shape => string.Equals(shape.Id, id, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"Unknown shape(s) {string.Join(", ", unknown)}; the suite has {string.Join(", ", All.Select(s => s.Id))}.");
        }

        return [.. All.Where(shape => ids.Any(id => string.Equals(shape.Id, id, StringComparison.OrdinalIgnoreCase)))];
    }
}
