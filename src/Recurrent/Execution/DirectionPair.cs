using Recurrent.Parameters;

namespace Recurrent.Execution;

/// <summary>A layer's input and output rows, as pointers that helper threads can carry (valid inside the caller's fixed scope).</summary>
internal readonly unsafe struct LayerBuffers(
    float* input, int inputLength, int inputWidth, float* output, int outputLength, bool inputInLanes = false, bool outputInLanes = false)
{
    public float* Input { get; } = input;

    public int InputLength { get; } = inputLength;

    public int InputWidth { get; } = inputWidth;

    public float* Output { get; } = output;

    public int OutputLength { get; } = outputLength;

    /// <summary>The input is a lower layer's output kept in lanes (<see cref="Workspace.LaneLayerOutputs"/>), not rows.</summary>
    public bool InputInLanes { get; } = inputInLanes;

    /// <summary>The output goes to the next layer in lanes, not rows.</summary>
    public bool OutputInLanes { get; } = outputInLanes;
}

/// <summary>The caller's initial and final state buffers (empty ones as null pointers of length 0), as spans again.</summary>
internal readonly unsafe struct StateBuffers(
    float* initialHidden, int initialHiddenLength, float* initialCell, int initialCellLength,
    float* finalHidden, int finalHiddenLength, float* finalCell, int finalCellLength)
{
    public ReadOnlySpan<float> InitialHidden => new(initialHidden, initialHiddenLength);

    public ReadOnlySpan<float> InitialCell => new(initialCell, initialCellLength);

    public Span<float> FinalHidden => new(finalHidden, finalHiddenLength);

    public Span<float> FinalCell => new(finalCell, finalCellLength);
}

/// <summary>
/// Both directions of a bidirectional layer at once on two threads: part 0 runs the forward direction on the main
/// workspace, part 1 the reverse direction on <see cref="Workspace.Reverse"/>. The parts share nothing they write:
/// each direction owns its output columns, its blocks of h_n and c_n, and its scratch. Each direction runs exactly
/// the code it runs alone, so the bits are those of one thread.
/// </summary>
internal sealed unsafe class DirectionPair(Workspace forward, Workspace reverse) : IPartitionedWork
{
    /// <summary>Pair the directions only if each has at least this many FLOPs (a hand-off per layer). In lanes, GRU
    /// 10 → 10, 2 layers, at N = 64, 12 steps (0.92 and 1.38 MFLOP a direction), paired against one thread: 190 → 103 µs
    /// a call on the Zen 3 machine, 46 → 36.5 on the Zen 5 one (2026-12-01), where splitting a direction's vectors of
    /// sequences at that size lost (<see cref="DirectionPass.MinLaneSplitFlops"/>).</summary>
    internal const double MinDirectionFlops = 0.4e6;

    /// <summary>Layers run with both directions at once so far, process-wide (lets tests see that the path ran).</summary>
    private static long s_pairedLayers;

    private LayerConfig _config = null!;
    private ParameterSet _parameters = null!;
    private StepSchedule _schedule;
    private int _layer;
    private LayerBuffers _buffers;
    private StateBuffers _states;

    internal static long PairedLayers => Interlocked.Read(ref s_pairedLayers);

    /// <summary>Whether one direction of this layer is enough work to run beside the other.</summary>
    public bool WorthPairing(LayerConfig config, StepSchedule schedule, int inputWidth) => Flops(config, schedule, inputWidth) >= MinDirectionFlops;

    /// <summary>The matrix-product FLOPs of one direction of the layer.</summary>
    public static double Flops(LayerConfig config, StepSchedule schedule, int inputWidth) =>
        2.0 * schedule.TotalRows * config.GateWidth * (inputWidth + config.OutputSize);

    public void Begin(LayerConfig config, ParameterSet parameters, StepSchedule schedule, int layer, LayerBuffers buffers, StateBuffers states)
    {
        _config = config;
        _parameters = parameters;
        _schedule = schedule;
        _layer = layer;
        _buffers = buffers;
        _states = states;
        Interlocked.Increment(ref s_pairedLayers);
    }

    public void RunPart(int part, int parts)
    {
        SequenceRunner.RunLayerDirection(
            _config, _parameters, _schedule, _layer, direction: part, _buffers,
            _states.InitialHidden, _states.InitialCell, _states.FinalHidden, _states.FinalCell,
            part == 0 ? forward : reverse, parts: 1, helperCount: 0);
    }
}
