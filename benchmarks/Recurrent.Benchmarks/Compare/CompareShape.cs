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

    /// <summary>The shapes beyond the suite (<see cref="SuiteShape.Beyond"/>), selected together by the id "beyond".</summary>
    public static readonly CompareShape[] Beyond = [.. SuiteShape.Beyond.Select(shape => new CompareShape(shape, Streaming: false))];

    /// <summary>The id that selects every shape of <see cref="Beyond"/>.</summary>
    public const string BeyondId = "beyond";

    public string Id => Shape.Id;

    /// <summary>Whether this shape is one of the suite's (those the README's table shows).</summary>
    public bool InSuite => All.Contains(this);

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
    /// The memory bound of a batch-1 shape whose time is set by reading its weights rather than by its FLOPs; null for
    /// the other shapes. Every step of S1 reads W_hh; every one-step call of ST reads W_hh and W_ih (a call cannot hoist
    /// the input product out of the time loop); every step of S3, S4 and S5 reads W_hh, and their hoisted input product
    /// reads W_ih once.
    /// </summary>
    public MemoryBound? MemoryBound
    {
        get
        {
            long gateRows = Gates * Shape.HiddenSize;
            long recurrent = gateRows * Shape.HiddenSize * sizeof(float);
            long input = gateRows * Shape.InputSize * sizeof(float);
            return Id switch
            {
                "S1" => new MemoryBound(recurrent, 0),
                "ST" => new MemoryBound(recurrent + input, 0),
                "S3" or "S4" or "S5" => new MemoryBound(recurrent, input),
                _ => null,
            };
        }
    }

    private int Gates => Shape.Cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };

    /// <summary>Selects shapes by id (case-insensitive; "beyond" for all of <see cref="Beyond"/>), the suite's first, each in
    /// its list's order.</summary>
    /// <exception cref="ArgumentException">An id is neither a shape's nor "beyond".</exception>
    public static CompareShape[] Select(IReadOnlyCollection<string> ids)
    {
        static bool Is(string id, string name) => string.Equals(id, name, StringComparison.OrdinalIgnoreCase);
        CompareShape[] known = [.. All, .. Beyond];
        var unknown = ids.Where(id => !Is(id, BeyondId) && !known.Any(shape => Is(id, shape.Id))).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"Unknown shape(s) {string.Join(", ", unknown)}; the suite has {string.Join(", ", All.Select(s => s.Id))}, and " +
                $"'{BeyondId}' (or one of {string.Join(", ", Beyond.Select(s => s.Id))}) selects shapes beyond it.");
        }

        bool allBeyond = ids.Any(id => Is(id, BeyondId));
        return [.. known.Where(shape => ids.Any(id => Is(id, shape.Id)) || (allBeyond && Beyond.Contains(shape)))];
    }
}

/// <summary>
/// A lower bound on a batch-1 shape's time: <see cref="BytesPerStep"/> of weights read at every step and
/// <see cref="BytesOnce"/> read once, at the read bandwidth the compare command measures on a working set of
/// <see cref="BytesPerStep"/> (on two cores, half of it per core, as each thread then streams half of the weights).
/// Measured per working set because what a core can stream depends on where the set fits: on the CI machine (1.25 MiB
/// of L2 per core) 512 KiB read at ~130 GB/s, 1 MiB at ~100, 2 MiB at ~46 (2026-11-29).
/// </summary>
internal sealed record MemoryBound(long BytesPerStep, long BytesOnce)
{
    /// <summary>The bound in milliseconds for <paramref name="steps"/> steps at <paramref name="gbps"/>.</summary>
    public double Milliseconds(int steps, double gbps) => (BytesOnce + ((double)steps * BytesPerStep)) / (gbps * 1e9) * 1e3;

    /// <summary>The working set as the tables show it: "2 MiB", "512 KiB".</summary>
    public string WorkingSet => Size(BytesPerStep);

    public static string Size(long bytes) => bytes >= 1024 * 1024
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0} KiB");
}
