using Recurrent.Kernels;

namespace Recurrent.Execution;

/// <summary>
/// Scratch buffers for forward passes over a schedule of (step, sequence) rows. Sized before the time loop, so nothing
/// is allocated inside it; reusable for any later schedule it <see cref="Fits(StepSchedule)"/>. A workspace serves one call at a time.
/// </summary>
/// <remarks>
/// The gate pre-activations are computed for a block of <see cref="BlockSteps"/> steps at a time, so their buffer is
/// bounded whatever the sequence length: about <see cref="GateBudget"/> floats (at most <see cref="MaxGateBudget"/>),
/// but never fewer than <see cref="MinimumBlockRows"/> rows, which keeps the input product efficient.
/// </remarks>
internal sealed class Workspace
{
    /// <summary>Largest target size of the gate buffer, in floats (8 MiB): bounds memory whatever the sequence length.</summary>
    public const int MaxGateBudget = 1 << 21;

    /// <summary>Smallest target size of the gate buffer, in floats (1 MiB): a block this size written by the input product
    /// is still in L2 when the time loop reads it back.</summary>
    public const int MinGateBudget = 1 << 18;

    /// <summary>Fewest rows per block of the input product, unless the sequence is shorter.</summary>
    public const int MinimumBlockRows = 256;

    /// <summary>
    /// Target size of the gate buffer for a layer, in floats: as large as its biggest W_ih, within
    /// [<see cref="MinGateBudget"/>, <see cref="MaxGateBudget"/>]. Each block's input product streams all of W_ih, so a
    /// block writes at least as many gate floats as it reads weights; below that, smaller blocks stay in cache between the
    /// product and the time loop. Measured on the Ice Lake CI machines (2026-11-28, pairs of calls interleaved): against
    /// a fixed 8 MiB, L3 and F1 ran 6–11 % faster, L1 and L4 (W_ih 3–4 MiB) the same.
    /// </summary>
    public static int GateBudget(LayerConfig config) =>
        (int)Math.Clamp((long)config.GateWidth * Math.Max(config.InputSize, config.OutputWidth), MinGateBudget, MaxGateBudget);

    /// <summary>
    /// At least the floats of the gate buffer a call of <paramref name="rows"/> rows at batch <paramref name="batch"/>
    /// needs: a block of steps holds at most <see cref="GateBudget"/> floats, or else the fewest steps that reach
    /// <see cref="MinimumBlockRows"/> rows, which are fewer than MinimumBlockRows + N (one step when N alone reaches it).
    /// </summary>
    public static long GateFloatsBound(LayerConfig config, long rows, long batch) =>
        Math.Max(GateBudget(config), Math.Min(rows, MinimumBlockRows + batch) * config.GateWidth);

    public Workspace(LayerConfig config, StepSchedule schedule, int parallelism = 1)
        : this(config, schedule, parallelism, reverseScratch: false)
    {
    }

    /// <param name="config">The layer's shape.</param>
    /// <param name="schedule">The largest schedule the workspace must run.</param>
    /// <param name="parallelism">The most parts a phase may be cut into.</param>
    /// <param name="reverseScratch">Whether this is the scratch of a reverse direction running beside the forward one
    /// (<see cref="Reverse"/>): it needs no layer outputs and no reverse scratch of its own.</param>
    private Workspace(LayerConfig config, StepSchedule schedule, int parallelism, bool reverseScratch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        Config = config;
        Parallelism = parallelism;
        Helpers = new HelperThreads?[parallelism - 1];
        Pass = new DirectionPass(this, parallelism);
        int batch = schedule.Batch;
        int rowsPerStep = Math.Max(1, batch);
        int budgetSteps = GateBudget(config) / Math.Max(1, rowsPerStep * config.GateWidth);
        int minimumSteps = (MinimumBlockRows + rowsPerStep - 1) / rowsPerStep;

        // Layers in lanes keep no gate buffer, so nothing bounds their blocks: the whole sequence is one block (one
        // transpose of the state in and out, one hand-off to helpers).
        bool lanes = DirectionPass.RunsInLanes(config, batch);
        BlockSteps = lanes ? schedule.Steps : Math.Clamp(Math.Max(budgetSteps, minimumSteps), 1, schedule.Steps);

        // Batch sizes never increase, so no window of BlockSteps steps holds more rows than the first one.
        GateRows = schedule.Offset(BlockSteps - 1) + schedule.Rows(BlockSteps - 1);
        TotalRows = schedule.TotalRows;
        Batch = batch;
        Gates = lanes ? default : new AlignedFloats(checked(GateRows * config.GateWidth));
        RecurrentGates = new AlignedFloats(config.CellType == CellType.Gru ? batch * config.GateWidth : 0);
        Hidden = new float[batch * config.OutputSize];
        HiddenAlternate = parallelism > 1 ? new float[batch * config.OutputSize] : [];
        Cell = config.CellType == CellType.Lstm ? new float[batch * config.HiddenSize] : [];
        Unprojected = new AlignedFloats(config.ProjSize > 0 ? batch * config.HiddenSize : 0);
        JoinedInputs = new AlignedFloats(JoinedInputFloats(config, batch));
        if (lanes)
        {
            LaneStride = LaneSteps.Stride(batch);
            LaneInputs = new AlignedFloats(checked((int)LaneInputFloats(config, LaneStride)));
            LaneHidden = new AlignedFloats(2 * config.OutputSize * LaneStride);
            LaneCell = new AlignedFloats(config.CellType == CellType.Lstm ? config.HiddenSize * LaneStride : 0);
            int gateBuffers = config.CellType == CellType.Gru ? 2 : 1; // GRU: the input part and the hidden part apart
            LaneGates = new AlignedFloats(gateBuffers * LaneSteps.GateRows(config.GateWidth) * LaneStride);
        }

        // Layer k writes layer buffer k % 2 and layer k + 1 reads it; the last layer writes the caller's output.
        // Stacked layers in lanes pass their outputs on in lanes, (steps, D·H_out, LaneStride) each, when that is at
        // most twice the row-major size: a packed batch with a long tail has far fewer rows than steps × batch, and its
        // layers pass rows instead (each still runs in lanes). The row-major buffers then serve only a call with
        // dropout between layers, so they exist only if the layer has dropout.
        int intermediateLayers = reverseScratch ? 0 : Math.Min(config.NumLayers - 1, 2);
        long laneLayerFloats = (long)schedule.Steps * config.OutputWidth * LaneStride;
        bool lanesBetween = lanes && intermediateLayers > 0 &&
            laneLayerFloats <= Math.Min(2L * TotalRows * config.OutputWidth, Array.MaxLength - (AlignedFloats.AlignmentBytes / sizeof(float)));
        bool rowMajorBetween = !lanesBetween || config.Dropout > 0;
        _rowMajorBetweenLayers = rowMajorBetween;
        LayerOutputs = new AlignedFloats[intermediateLayers];
        LaneLayerOutputs = new AlignedFloats[lanesBetween ? intermediateLayers : 0];
        LaneLayerSteps = lanesBetween ? schedule.Steps : 0;
        for (int i = 0; i < intermediateLayers; i++)
        {
            LayerOutputs[i] = new AlignedFloats(rowMajorBetween ? checked(TotalRows * config.OutputWidth) : 0);
            if (lanesBetween)
            {
                LaneLayerOutputs[i] = new AlignedFloats((int)laneLayerFloats);
            }
        }

        // With two threads a bidirectional layer runs its directions side by side, each on scratch of its own.
        Reverse = !reverseScratch && parallelism > 1 && config.Directions == 2 ? new Workspace(config, schedule, 1, reverseScratch: true) : null;
        Directions = Reverse is null ? null : new DirectionPair(this, Reverse);
    }

    /// <summary>Whether <see cref="LayerOutputs"/> has its buffers (a layer with dropout can run with this workspace).</summary>
    private readonly bool _rowMajorBetweenLayers;

    /// <summary>The layer shape the buffers were sized for.</summary>
    public LayerConfig Config { get; }

    /// <summary>Floats held by all the buffers together.</summary>
    public long HeldFloats => (long)Gates.Length + RecurrentGates.Length + Hidden.Length + HiddenAlternate.Length + Cell.Length + Unprojected.Length + JoinedInputs.Length +
        LaneInputs.Length + LaneHidden.Length + LaneCell.Length + LaneGates.Length +
        LayerOutputs.Sum(buffer => (long)buffer.Length) + LaneLayerOutputs.Sum(buffer => (long)buffer.Length) + (Reverse?.HeldFloats ?? 0);

    /// <summary>Parts a phase may be cut into: the caller's thread and up to Parallelism − 1 helpers.</summary>
    public int Parallelism { get; }

    /// <summary>Slots for the helpers rented during a call (empty between calls).</summary>
    public HelperThreads?[] Helpers { get; }

    /// <summary>Scratch for the reverse direction when both directions of a layer run at once; else null.</summary>
    public Workspace? Reverse { get; }

    /// <summary>Runs both directions of a layer at once (this workspace forward, <see cref="Reverse"/> in reverse); else null.</summary>
    public DirectionPair? Directions { get; }

    /// <summary>The layer-and-direction pass, reused for every layer and direction of a call.</summary>
    public DirectionPass Pass { get; }

    /// <summary>Rows of the layer outputs: the schedules this workspace fits have at most this many.</summary>
    public int TotalRows { get; }

    public int Batch { get; }

    /// <summary>Steps whose input product is computed at once.</summary>
    public int BlockSteps { get; }

    /// <summary>Rows the gate buffer holds: those of the first <see cref="BlockSteps"/> steps.</summary>
    public int GateRows { get; }

    /// <summary>Gate pre-activations of one block of steps, (GateRows, G*H): the input product, then each step's update.</summary>
    public AlignedFloats Gates { get; }

    /// <summary>GRU: h W_hhᵀ + b_hn of the current step, (N, 3H). Empty for RNN and LSTM.</summary>
    public AlignedFloats RecurrentGates { get; }

    /// <summary>The running h of one direction, (N, H_out).</summary>
    public float[] Hidden { get; }

    /// <summary>The other h buffer of a time loop split by hidden units (each step reads one and writes the other); empty
    /// when single-threaded.</summary>
    public float[] HiddenAlternate { get; }

    /// <summary>LSTM: the running cell state c of one direction, (N, H). Empty otherwise.</summary>
    public float[] Cell { get; }

    /// <summary>LSTM with projection: o * tanh(c') before W_hr, (N, H). Empty otherwise.</summary>
    public AlignedFloats Unprojected { get; }

    /// <summary>RNN and LSTM: the rows [x_t | h] of a step run as one product with the joined weights, (N, H_in + H_out)
    /// for the widest layer input. Empty for GRU.</summary>
    public AlignedFloats JoinedInputs { get; }

    /// <summary>Floats between rows of the lane buffers (the batch rounded up to whole vectors); 0 when the layer does
    /// not run in lanes (<see cref="DirectionPass.RunsInLanes"/>), whose lane buffers are then empty. Every lane buffer
    /// is 64-byte aligned (<see cref="AlignedFloats"/>) and its rows, parts and steps start at multiples of 16 floats,
    /// so none of the lane kernels' vectors straddles two cache lines.</summary>
    public int LaneStride { get; }

    /// <summary>xᵀ of one step, (widest layer input, <see cref="LaneStride"/>).</summary>
    public AlignedFloats LaneInputs { get; }

    /// <summary>hᵀ and the next step's hᵀ, two (H_out, <see cref="LaneStride"/>) buffers back to back.</summary>
    public AlignedFloats LaneHidden { get; }

    /// <summary>LSTM: cᵀ, (H, <see cref="LaneStride"/>).</summary>
    public AlignedFloats LaneCell { get; }

    /// <summary>One step's gate pre-activations transposed, (G·H rounded up to the product's passes, <see cref="LaneStride"/>);
    /// GRU: two such, the input part, then the hidden part.</summary>
    public AlignedFloats LaneGates { get; }

    /// <summary>Outputs of the layers below the last, (rows, D*H_out) each (empty buffers when layers in lanes have no
    /// dropout, see <see cref="LaneLayerOutputs"/>).</summary>
    public AlignedFloats[] LayerOutputs { get; }

    /// <summary>Layers in lanes: outputs of the layers below the last, in lanes: step t's block of D·H_out rows of
    /// <see cref="LaneStride"/> floats at t·D·H_out·LaneStride (direction d's rows from d·H_out). None for layers not in
    /// lanes, or when these would hold more than twice the row-major floats (a packed batch with a long tail).</summary>
    public AlignedFloats[] LaneLayerOutputs { get; }

    /// <summary>Steps <see cref="LaneLayerOutputs"/> hold (0 without them).</summary>
    public int LaneLayerSteps { get; }

    /// <summary>Whether this workspace can run <paramref name="schedule"/> of a layer shaped as <paramref name="config"/> in
    /// up to <paramref name="parallelism"/> parts: buffers of the same widths, room for its input rows (the joined and
    /// lane inputs, whose width is the layer's input size: a layer with a wider input than the one the buffers were made
    /// for must not reuse them), enough layers, lane buffers exactly when the layer runs in lanes at this batch, and the
    /// schedule fits.</summary>
    public bool Fits(LayerConfig config, StepSchedule schedule, int parallelism)
    {
        bool sameWidths = config.GateWidth == Config.GateWidth && config.OutputSize == Config.OutputSize &&
            config.HiddenSize == Config.HiddenSize && config.OutputWidth == Config.OutputWidth && config.CellType == Config.CellType &&
            config.ProjSize == Config.ProjSize && Math.Min(config.NumLayers - 1, 2) <= LayerOutputs.Length;
        bool inputsFit = JoinedInputFloats(config, schedule.Batch) <= JoinedInputs.Length && LaneInputFloats(config, LaneStride) <= LaneInputs.Length;
        // Lane buffers exist exactly when the layer runs in lanes at this batch (a test may have forced either way since).
        bool sameLayout = (LaneStride > 0) == DirectionPass.RunsInLanes(config, schedule.Batch);
        return sameWidths && inputsFit && sameLayout && (config.Dropout == 0 || _rowMajorBetweenLayers) && parallelism == Parallelism && Fits(schedule);
    }

    /// <summary>Whether this workspace fits every call <paramref name="other"/> fits, so that keeping both is a waste: the
    /// same layer, batch, parallelism and layout, all of the other's rows in one block of gates (a block's rows are at
    /// most the call's rows), at least its rows, and no tighter bound on steps between layers in lanes.</summary>
    public bool Covers(Workspace other) =>
        ReferenceEquals(Config, other.Config) && Batch == other.Batch && Parallelism == other.Parallelism &&
        LaneStride == other.LaneStride && _rowMajorBetweenLayers == other._rowMajorBetweenLayers &&
        TotalRows >= other.TotalRows && GateRows >= other.TotalRows &&
        (LaneLayerOutputs.Length == 0 || (other.LaneLayerOutputs.Length > 0 && LaneLayerSteps >= other.LaneLayerSteps));

    /// <summary>Floats of <see cref="LaneInputs"/> for a layer shaped as <paramref name="config"/> in lanes of
    /// <paramref name="laneStride"/> (0 when the layer does not run in lanes): one lane row per input or output feature.</summary>
    private static long LaneInputFloats(LayerConfig config, int laneStride) =>
        (long)Math.Max(config.InputSize, config.OutputWidth) * laneStride;

    /// <summary>Floats of <see cref="JoinedInputs"/> for a layer shaped as <paramref name="config"/> at this batch.</summary>
    private static int JoinedInputFloats(LayerConfig config, int batch) =>
        config.CellType == CellType.Gru ? 0 : checked(batch * (Math.Max(config.InputSize, config.OutputWidth) + config.OutputSize));

    /// <summary>Whether this workspace can run <paramref name="schedule"/> (same batch, no more rows, blocks that fit).</summary>
    public bool Fits(StepSchedule schedule)
    {
        if (schedule.Batch != Batch || schedule.TotalRows > TotalRows || (LaneLayerOutputs.Length > 0 && schedule.Steps > LaneLayerSteps))
        {
            return false;
        }

        int steps = Math.Min(BlockSteps, schedule.Steps);
        return schedule.Offset(steps - 1) + schedule.Rows(steps - 1) <= GateRows;
    }
}
