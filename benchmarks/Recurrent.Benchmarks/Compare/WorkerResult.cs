using System.Text.Json;
using System.Text.Json.Serialization;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// What one library reported for one shape at one thread count: the one JSON line a <c>compare-worker</c> process or
/// benchmarks/pytorch_peer.py prints on stdout (snake_case keys).
/// </summary>
/// <param name="Status"><see cref="Ok"/>, <see cref="Unavailable"/> (the library cannot run this configuration),
/// <see cref="CheckFailed"/> (outputs differ from ours by more than the tolerance; not timed) or <see cref="Error"/>.</param>
/// <param name="Reason">Why the status is not ok.</param>
/// <param name="Version">The library's version as it reports it.</param>
/// <param name="MedianMs">Median time of one run (one Forward, or the streamed sequence's one-step calls).</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="MaxAbsDiff">Largest |difference| from our reference outputs over output, h_n and c_n.</param>
/// <param name="BaselineMiB">Peak resident set of the process once the runtime and the library are loaded, before the case is read.</param>
/// <param name="PeakMiB">Peak resident set of the process at the end: the case's data, the library's working memory, and the runtime.</param>
/// <param name="PeerMedianMs">Paired run (ours and ONNX Runtime in one process): the peer's median time; MedianMs is ours.
/// Thread pair (ours at 2 and at 1 thread in one process): the 1-thread median; MedianMs is the 2-thread one.</param>
/// <param name="PairRatio">Paired run: the median over pairs of the peer's time over ours. Thread pair: of the 1-thread time
/// over the 2-thread time (the speed-up).</param>
internal sealed record WorkerResult(
    string Status,
    string? Reason = null,
    string? Version = null,
    double? MedianMs = null,
    int? Runs = null,
    double? MaxAbsDiff = null,
    [property: JsonPropertyName("baseline_mib")] double? BaselineMiB = null,
    [property: JsonPropertyName("peak_mib")] double? PeakMiB = null,
    double? PeerMedianMs = null,
    double? PairRatio = null)
{
    public const string Ok = "ok";
    public const string Unavailable = "unavailable";
    public const string CheckFailed = "check-failed";
    public const string Error = "error";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

        // A diff of NaN or infinity must still parse and print: as the strings "NaN" and "Infinity", which our workers
        // and benchmarks/pytorch_peer.py both write (bare NaN and Infinity, Python's json default, are not JSON).
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    [JsonIgnore]
    public bool IsOk => Status == Ok;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>
    /// One result for several rounds of the same case: a failed check or an error if any round had one (a failure is
    /// never hidden by a good round), else the fastest ok round, else the first (unavailable) one.
    /// </summary>
    public static WorkerResult Fastest(IReadOnlyList<WorkerResult> rounds)
    {
        ArgumentOutOfRangeException.ThrowIfZero(rounds.Count);
        return rounds.FirstOrDefault(r => r.Status is CheckFailed or Error)
            ?? rounds.Where(r => r.IsOk).MinBy(r => r.MedianMs)
            ?? rounds[0];
    }

    /// <summary>Reads the last line of a worker's stdout that parses as a result (anything a library prints before it is ignored).</summary>
    public static WorkerResult? FromOutput(string stdout)
    {
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Reverse())
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            try
            {
                WorkerResult? result = JsonSerializer.Deserialize<WorkerResult>(line, Json);
                if (result?.Status is not null)
                {
                    return result;
                }
            }
            catch (JsonException)
            {
                // Not our line: keep looking.
            }
        }

        return null;
    }
}
