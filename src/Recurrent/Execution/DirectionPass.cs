using System.Diagnostics;
using Recurrent.Kernels;
using Recurrent.Parameters;

namespace Recurrent.Execution;

/// <summary>
/// One layer and direction of a forward pass, cut into parts for <see cref="HelperThreads"/>. A block of steps is two
/// phases: the input product of all its rows (parts split the output columns by panel), then its time loop. The time
/// loop splits the batch by sequence when the batch is large enough (no part waits for another inside the loop), or,
/// for small batches, the hidden units: each part multiplies only its units' rows of W_hh (so each core streams half
/// of W_hh, which may then fit its own L2) and parts meet at a <see cref="StepBarrier"/> once per step.
/// </summary>
/// <remarks>
/// Why any split gives the same bits: every element of a product is one chain over k in a fixed order whatever rows or
/// panels a call covers (see <see cref="Gemm"/>), and the gate math works row by row with the same code for every row.
/// A sequence's state rows (h, c, GRU's recurrent gates, the unprojected h) are touched only by the part that owns
/// that sequence. Split by units, a part owns the same units of every row: their gate columns (whole 32-column
/// panels of every gate chunk), their c, and their h'. h' is written to the other of two h buffers, so no part
/// overwrites h that another part is still reading; the barrier after each step makes the new h complete before any
/// part reads it.
/// <para>
/// A block of one step (a streaming call, a one-step sequence) of an RNN or LSTM is a single phase instead: its input
/// and recurrent products as one product over the joined weights (DirectionPass.JoinedStep.cs).
/// </para>
/// <para>
/// The buffers are held as pointers because the parts run on other threads, where spans cannot go. They are valid
/// between <see cref="Begin"/> and the end of the caller's <c>fixed</c> scope, which outlasts every phase
/// (<see cref="HelperThreads.Run"/> returns only when all parts have finished).
/// </para>
/// </remarks>
internal sealed unsafe partial class DirectionPass : IPartitionedWork
{
    /// <summary>A phase runs in parts only if it has at least this many FLOPs (~3–5 µs of work): below that the
    /// hand-off to a spinning helper costs more than it saves.</summary>
    internal const double MinParallelFlops = 0.4e6;

    /// <summary>
    /// A block's input product is split between threads only from this many FLOPs (~25 µs of work on one core): the
    /// helper has usually gone to sleep since the last call, and waking it costs ~10 µs on the CI machine. Measured
    /// there (2026-11-29, separate processes, Forward into buffers): S6 (RNN 64 → 64, batch 1, 96 steps; its input
    /// product is 0.79 MFLOP) took 32.5–35.9 µs at 2 threads against 25.8–26.9 at 1 (10th percentiles) while the split
    /// started at <see cref="MinParallelFlops"/>.
    /// </summary>
    internal const double MinProjectSplitFlops = 4e6;

    /// <summary>
    /// A time loop (or a one-step call) splits hidden units only if each step has at least this many FLOPs (~2–4 µs):
    /// every step ends at a barrier, and each part streams its share of the weights with fewer FMA chains. Measured on the
    /// CI machine (2026-11-29, one process, 1 and 2 threads in turn, Forward into buffers): LSTM 128 → 128 at batch 2
    /// (262 kFLOP a step) ran 0.78× as fast on 2 threads as on 1 when this was 2e5, batch 3 (393 kFLOP) 1.05× faster,
    /// and S1 (LSTM 256 at batch 1, 524 kFLOP) 1.7× faster.
    /// </summary>
    internal const double MinUnitSplitStepFlops = 4e5;

    /// <summary>
    /// A time loop splits sequences only if each step has at least this many FLOPs (~2–4 µs): below that a step's time is
    /// its fixed costs (a product's latency, the gate math's calls, streaming weights that fit L1 or L2), so two parts
    /// each with half the rows take about as long as one with all of them, and two cores at it are slower. Measured on
    /// the CI machine (2026-11-29, one process, 1 and 2 threads in turn, Forward into buffers) when this was 2e5: RNN
    /// 128 → 128 at batch 8 (262 kFLOP a step) ran 0.93–0.97× as fast on 2 threads as on 1, GRU 80 → 96 with 2 layers at
    /// batch 4 and 6 (221 and 332 kFLOP) 0.92–0.93× and 0.97×, at batch 8 (442 kFLOP) 1.24–1.30× faster. (Separate
    /// processes had put RNN 128 at batch 8 at 1.3× faster: the machine's slow stretches decide such comparisons.)
    /// </summary>
    internal const double MinSequenceSplitStepFlops = 4e5;

    /// <summary>
    /// A small batch's time loop splits its hidden units, under <see cref="MinSmallBatchSplitStepFlops"/> a step, only if
    /// its recurrent weights take at least this many bytes: then each core streams half of them from its own L2 (S1,
    /// LSTM 256 at batch 1, W_hh 1 MiB, 524 kFLOP a step: 1.6–1.8× faster on 2 threads). With less, the halved step does
    /// not pay for its barrier: measured on the CI machine (2026-11-29, one process, 1 and 2 threads in turn, Forward into
    /// buffers) LSTM 128 at batch 4 (W_hh 256 KiB, 524 kFLOP) ran at 0.945× its one-thread speed on 2 threads and LSTM 160
    /// at batch 3 (400 KiB, 614 kFLOP) at 0.89×; on one thread, 1.00× and 0.99×.
    /// </summary>
    internal const long MinUnitSplitWeightBytes = 512 * 1024;

    /// <summary>
    /// A small batch (below <see cref="UnitSplitBelowBatch"/>) splits by sequences only from this many FLOPs a step, and
    /// splits by units from this many whatever the weights' size: each part of a sequence split streams all the weights
    /// for a few rows. Measured as above: GRU 300 at batch 4 (2.16 MFLOP a step, split 2 + 2) ran 1.29–1.39× faster on 2
    /// threads; LSTM 160 at batch 3 (614 kFLOP, split 2 + 1) at 0.84×.
    /// </summary>
    internal const double MinSmallBatchSplitStepFlops = 2e6;

    /// <summary>Below this batch the time loop splits hidden units rather than sequences (when it can).</summary>
    internal const int UnitSplitBelowBatch = 8;

    private readonly Workspace _workspace;

    /// <summary>Part p of the time loop owns sequences [_splits[p], _splits[p + 1]).</summary>
    private readonly int[] _splits;

    /// <summary>Split by units, part p owns units [_unitSplits[p], _unitSplits[p + 1]), multiples of the panel width.</summary>
    private readonly int[] _unitSplits;

    private readonly StepBarrier _barrier = new();

    /// <summary>Time-loop phases run split by units, process-wide (lets tests see that the path ran).</summary>
    private static long s_unitSplitPhases;

    private LayerConfig _config = null!;
    private DirectionWeights _weights = null!;
    private StepSchedule _schedule;
    private int _direction;
    private float* _input;
    private int _inputLength;
    private int _inputWidth;
    private float* _output;
    private int _outputLength;
    private bool _inputInLanes;
    private bool _outputInLanes;

    /// <summary>Whether the current block's lane parts each have lane buffers of their own
    /// (<see cref="SplitLanesInOwnBlocks"/>); set by <see cref="RunBlock"/> before its parts start.</summary>
    private bool _laneOwnBlocks;
    private int _parts;
    private int _stepParts;

    /// <summary>Steps this pass has run over its lifetime (every layer, direction and call on its workspace): step k
    /// from here streams W in <see cref="OrderOf"/>(k), so consecutive steps alternate, across calls too (a
    /// streaming caller's one-step calls). Written by the calling thread only between phases.</summary>
    private long _stepsRun;

    /// <summary><see cref="_stepsRun"/> when the current block began: the block's step k is lifetime step
    /// <c>_blockStartStep + k</c>.</summary>
    private long _blockStartStep;

    // The current phase.
    private Phase _phase;
    private int _first;
    private int _end;
    private int _firstRow;
    private int _blockRows;

    /// <summary>Time-loop phases run split by units so far, process-wide.</summary>
    internal static long UnitSplitPhases => Interlocked.Read(ref s_unitSplitPhases);

    public DirectionPass(Workspace workspace, int maxParts)
    {
        _workspace = workspace;
        _splits = new int[maxParts + 1];
        _unitSplits = new int[maxParts + 1];
    }

    /// <summary>
    /// Sets up a layer and direction over <paramref name="schedule"/> with up to <paramref name="parts"/> parts, reading
    /// the input (rows × input width, or in lanes) and writing its columns of the output (or its rows in lanes).
    /// </summary>
    public void Begin(LayerConfig config, DirectionWeights weights, StepSchedule schedule, int direction, LayerBuffers buffers, int parts)
    {
        _config = config;
        _weights = weights;
        _schedule = schedule;
        _direction = direction;
        _input = buffers.Input;
        _inputLength = buffers.InputLength;
        _inputWidth = buffers.InputWidth;
        _output = buffers.Output;
        _outputLength = buffers.OutputLength;
        _inputInLanes = buffers.InputInLanes;
        _outputInLanes = buffers.OutputInLanes;
        Debug.Assert(!(_inputInLanes || _outputInLanes) || _workspace.LaneStride > 0, "only a layer that runs in lanes reads or writes lanes");
        _parts = Math.Min(parts, _splits.Length - 1);
        _stepParts = SplitBatch(schedule, _parts);

        // The rows of a step's recurrent products: the batch, or about a sequence split's part (a split by units keeps them
        // all); their weights, and the input weights (their products have up to all the rows), get column vectors if the
        // products read them (Gemm.PrepareColumnVectors) and the module allows the copies.
        int batch = schedule.Batch, stepRows = batch < UnitSplitBelowBatch || _parts == 1 ? batch : (batch + _parts - 1) / _parts;
        if (_workspace.LaneStride == 0 && weights.AllowsCopies)
        {
            Gemm.PrepareInputColumnVectors(weights.InputWeights, schedule.TotalRows);
            Gemm.PrepareColumnVectors(weights.HiddenWeights, stepRows);
            if (weights.ProjectionWeights is { } projection)
            {
                Gemm.PrepareColumnVectors(projection, stepRows);
            }
        }
    }

    /// <summary>The order in which the block's step <paramref name="k"/> (0 = its first) streams its weights.</summary>
    private PanelOrder OrderOf(int k) => ((_blockStartStep + k) & 1) == 0 ? PanelOrder.Ascending : PanelOrder.Descending;

    private enum Phase
    {
        Project,
        JoinedStepByUnits,
        StepsBySequence,
        StepsByUnits,
        LaneSteps,
    }

    /// <summary>Runs steps [first, end) — in processing order, so from end − 1 down when reverse. Parts without a
    /// helper run on the calling thread.</summary>
    public void RunBlock(int first, int end, ReadOnlySpan<HelperThreads?> helpers, int helperCount)
    {
        int gateWidth = _config.GateWidth;
        _first = first;
        _end = end;
        _firstRow = _schedule.Offset(first);
        _blockRows = _schedule.Offset(end - 1) + _schedule.Rows(end - 1) - _firstRow;

        _blockStartStep = _stepsRun;
        _stepsRun += end - first;
        if (_workspace.LaneStride > 0)
        {
            int laneParts = WithReadyHelpers(LaneParts(helperCount), 2.0 * _blockRows * gateWidth * (_inputWidth + _config.OutputSize), helpers, helperCount);

            // Decided once for the block, before any part reads it: parts in different layouts would overlap.
            _laneOwnBlocks = laneParts > 1 && !_inputInLanes && !_outputInLanes && SplitLanesInOwnBlocks;
            if (laneParts == 1)
            {
                RunLaneSteps(0, 1);
            }
            else
            {
                _phase = Phase.LaneSteps;
                HelperThreads.Run(this, laneParts, helpers, helperCount);
            }

            return;
        }

        double projectFlops = 2.0 * _blockRows * gateWidth * _inputWidth;
        int projectParts = projectFlops >= MinProjectSplitFlops ? Math.Min(_parts, _weights.InputWeights.PanelCount) : 1;
        double stepFlops = 2.0 * _blockRows * gateWidth * _config.OutputSize;
        bool parallel = stepFlops >= MinParallelFlops;

        // One step on one thread (a streaming call, or a one-step sequence): its input and recurrent products as one pass
        // over the joined weights, which streams them as one sequence (see PanelOrder) instead of two.
        if (end - first == 1 && _weights.JoinedWeights is { } joined)
        {
            if (_parts == 1 || (projectParts == 1 && !parallel))
            {
                RunJoinedStep(joined);
                return;
            }

            // On two threads each part takes its units' panels of every gate chunk of the joined product, then their gate
            // math: one hand-off per step (not one for the input product and one for the step) and no barrier, since
            // every part reads h from the joined rows and writes only its own units of h'.
            double joinedFlops = 2.0 * _schedule.Rows(first) * gateWidth * (_inputWidth + _config.OutputSize);
            bool splitJoined = parallel && _schedule.Batch < UnitSplitBelowBatch && WorthSplittingUnits(joinedFlops, joined);
            int joinedParts = WithReadyHelpers(splitJoined ? SplitUnits(_config, _weights, Math.Min(_parts, helperCount + 1)) : 1, joinedFlops, helpers, helperCount);
            if (joinedParts > 1)
            {
                FillJoinedInputs();
                _phase = Phase.JoinedStepByUnits;
                Interlocked.Increment(ref s_joinedSteps);
                Interlocked.Increment(ref s_unitSplitPhases);
                HelperThreads.Run(this, joinedParts, helpers, helperCount);
                return;
            }
        }

        _phase = Phase.Project;
        HelperThreads.Run(this, WithReadyHelpers(projectParts, projectFlops, helpers, helperCount, nearPeak: true), helpers, helperCount);

        // Split by units into no more parts than there are threads: parts meet at a barrier, so none may run after another.
        double firstStepFlops = 2.0 * _schedule.Rows(first) * gateWidth * _config.OutputSize;
        bool splitUnits = parallel && _schedule.Batch < UnitSplitBelowBatch && WorthSplittingUnits(firstStepFlops, _weights.HiddenWeights);
        int unitParts = WithReadyHelpers(splitUnits ? SplitUnits(_config, _weights, Math.Min(_parts, helperCount + 1)) : 1, stepFlops, helpers, helperCount);
        if (unitParts > 1)
        {
            _phase = Phase.StepsByUnits;
            Interlocked.Increment(ref s_unitSplitPhases);
            _barrier.Reset();
            HelperThreads.Run(this, unitParts, helpers, helperCount);

            // Step k of the block wrote h to buffer (k + 1) % 2: after an odd number of steps it is in the alternate.
            if ((end - first) % 2 == 1)
            {
                _workspace.HiddenAlternate.CopyTo(_workspace.Hidden, 0);
            }

            return;
        }

        // Split by sequences (each part runs its sequences through every step, no waiting inside the loop) only when a
        // step has enough work that fewer rows take less time: small steps cost about the same whatever their rows, and
        // a small batch's parts each stream all the weights for a few rows.
        _phase = Phase.StepsBySequence;
        bool splitSequences = parallel && firstStepFlops >= (_schedule.Batch < UnitSplitBelowBatch ? MinSmallBatchSplitStepFlops : MinSequenceSplitStepFlops);
        HelperThreads.Run(this, WithReadyHelpers(splitSequences ? _stepParts : 1, stepFlops, helpers, helperCount), helpers, helperCount);
    }

    /// <summary>Whether a small batch's step of <paramref name="stepFlops"/> over <paramref name="weights"/> is worth
    /// splitting by units: enough work (<see cref="MinUnitSplitStepFlops"/>), and either weights large enough that each
    /// core streaming half of them from its own L2 pays (<see cref="MinUnitSplitWeightBytes"/>) or plenty of work
    /// (<see cref="MinSmallBatchSplitStepFlops"/>).</summary>
    private static bool WorthSplittingUnits(double stepFlops, PackedMatrix weights) =>
        stepFlops >= MinUnitSplitStepFlops
        && ((long)weights.Rows * weights.Cols * sizeof(float) >= MinUnitSplitWeightBytes || stepFlops >= MinSmallBatchSplitStepFlops);

    /// <summary><paramref name="parts"/>, or 1 when a helper is asleep and <paramref name="flops"/> are too few to wake it
    /// for (<see cref="HelperThreads.Ready"/>, which then wakes it for the phases after this one).</summary>
    private static int WithReadyHelpers(int parts, double flops, ReadOnlySpan<HelperThreads?> helpers, int helperCount, bool nearPeak = false) =>
        parts > 1 && HelperThreads.Ready(helpers, helperCount, flops, nearPeak) == 0 ? 1 : parts;

    public void RunPart(int part, int parts)
    {
        switch (_phase)
        {
            case Phase.Project:
                ProjectInputs(part, parts);
                break;
            case Phase.JoinedStepByUnits:
                RunJoinedStepByUnits(part);
                break;
            case Phase.StepsBySequence:
                RunSteps(part, parts);
                break;
            case Phase.LaneSteps:
                RunLaneSteps(part, parts);
                break;
            default:
                try
                {
                    RunStepsByUnits(part, parts);
                }
                catch
                {
                    _barrier.Break();
                    throw;
                }

                break;
        }
    }

    /// <summary>Gates of the block's rows = input rows · W_ihᵀ + folded bias, for this part's panels.</summary>
    private void ProjectInputs(int part, int parts)
    {
        PackedMatrix w = _weights.InputWeights;
        int firstPanel = w.PanelCount * part / parts;
        int endPanel = w.PanelCount * (part + 1) / parts;
        var input = new ReadOnlySpan<float>(_input, _inputLength);
        Gemm.Multiply(
            input[(_firstRow * _inputWidth)..], _inputWidth, _blockRows, w, _weights.InputBias,
            _workspace.Gates.Span, _config.GateWidth, accumulate: false, firstPanel, endPanel - firstPanel, OrderOf(0));
    }

    /// <summary>The block's time loop for this part's sequences. <paramref name="parts"/> is 1 (part 0 owns the whole
    /// batch) or the split's part count.</summary>
    private void RunSteps(int part, int parts)
    {
        Debug.Assert(parts == 1 || parts == _stepParts, "the time loop runs whole or in the split's parts");
        int firstSequence = parts == 1 ? 0 : _splits[part];
        int endSequence = parts == 1 ? _schedule.Batch : _splits[part + 1];
        bool reverse = _direction == 1;
        for (int i = _first; i < _end; i++)
        {
            int t = reverse ? _end - 1 - (i - _first) : i;
            int rows = Math.Min(_schedule.Rows(t), endSequence) - firstSequence;
            if (rows > 0)
            {
                RunStep(t, _schedule.Offset(t) - _firstRow + firstSequence, firstSequence, rows, OrderOf(i - _first), gatesDone: false);
            }
        }
    }

    /// <summary>
    /// Step t for sequences [first, first + rows): their gate rows start at <paramref name="gateRow"/> of the gate
    /// buffer. Invariant: row n of the hidden (and cell) state is sequence n's state after the last step it has taken.
    /// <paramref name="gatesDone"/>: the gates already include h's product (RNN, LSTM: <see cref="RunJoinedStep"/>).
    /// </summary>
    private void RunStep(int t, int gateRow, int first, int rows, PanelOrder order, bool gatesDone)
    {
        int allPanels = _weights.HiddenWeights.PanelCount;
        LayerConfig config = _config;
        DirectionWeights weights = _weights;
        Workspace workspace = _workspace;
        int gateWidth = config.GateWidth;
        int hiddenSize = config.HiddenSize;
        int outputSize = config.OutputSize;
        Span<float> gates = workspace.Gates.AsSpan(gateRow * gateWidth, rows * gateWidth);
        Span<float> hidden = workspace.Hidden.AsSpan(first * outputSize, rows * outputSize);
        switch (config.CellType)
        {
            case CellType.Rnn:
                if (!gatesDone)
                {
                    Gemm.Multiply(hidden, outputSize, rows, weights.HiddenWeights, [], gates, gateWidth, accumulate: true, 0, allPanels, order);
                }

                GateMath.RnnStep(gates, hidden, outputSize, rows, hiddenSize, config.Nonlinearity);
                break;
            case CellType.Gru:
                Span<float> recurrent = workspace.RecurrentGates.AsSpan(first * gateWidth, rows * gateWidth);
                Gemm.Multiply(hidden, outputSize, rows, weights.HiddenWeights, weights.RecurrentBias, recurrent, gateWidth, accumulate: false, 0, allPanels, order);

                // Each row reads its h before writing h' over it.
                GateMath.GruStep(gates, recurrent, hidden, outputSize, hidden, outputSize, rows, hiddenSize);
                break;
            default:
                Span<float> cell = workspace.Cell.AsSpan(first * hiddenSize, rows * hiddenSize);
                if (!gatesDone)
                {
                    Gemm.Multiply(hidden, outputSize, rows, weights.HiddenWeights, [], gates, gateWidth, accumulate: true, 0, allPanels, order);
                }

                if (weights.ProjectionWeights is { } projection)
                {
                    Span<float> unprojected = workspace.Unprojected.AsSpan(first * hiddenSize, rows * hiddenSize);
                    GateMath.LstmStep(gates, cell, unprojected, hiddenSize, rows, hiddenSize);
                    Gemm.Multiply(unprojected, hiddenSize, rows, projection, [], hidden, outputSize, accumulate: false, 0, projection.PanelCount, order);
                }
                else
                {
                    GateMath.LstmStep(gates, cell, hidden, outputSize, rows, hiddenSize);
                }

                break;
        }

        int outputWidth = config.OutputWidth;
        var output = new Span<float>(_output, _outputLength);
        Span<float> stepOutput = output[((_schedule.Offset(t) + first) * outputWidth + _direction * outputSize)..];
        if (outputWidth == outputSize)
        {
            hidden.CopyTo(stepOutput); // one direction: the output rows of these sequences are back to back, as in hidden
        }
        else
        {
            StridedRows.Copy(hidden, outputSize, stepOutput, outputWidth, rows, outputSize);
        }
    }

    /// <summary>
    /// The block's time loop for this part's units of every sequence, meeting the other parts after each step. Step k
    /// of the block reads h from buffer k % 2 (0 = Hidden, 1 = HiddenAlternate) and writes h' to the other.
    /// </summary>
    private void RunStepsByUnits(int part, int parts)
    {
        LayerConfig config = _config;
        DirectionWeights weights = _weights;
        Workspace workspace = _workspace;
        int gateWidth = config.GateWidth, hiddenSize = config.HiddenSize, outputSize = config.OutputSize, batch = _schedule.Batch;
        int firstUnit = _unitSplits[part], units = _unitSplits[part + 1] - firstUnit;
        int firstPanel = firstUnit / PackedMatrix.PanelWidth, panelCount = units / PackedMatrix.PanelWidth;
        bool reverse = _direction == 1;
        var output = new Span<float>(_output, _outputLength);
        long workTicks = 0, waitTicks = 0, stepStart = Stopwatch.GetTimestamp();
        for (int i = _first; i < _end; i++)
        {
            int t = reverse ? _end - 1 - (i - _first) : i;
            int rows = _schedule.Rows(t);
            bool fromMain = (i - _first) % 2 == 0;
            PanelOrder order = OrderOf(i - _first);
            Span<float> current = fromMain ? workspace.Hidden : workspace.HiddenAlternate;
            Span<float> next = fromMain ? workspace.HiddenAlternate : workspace.Hidden;
            int gateRow = _schedule.Offset(t) - _firstRow;
            Span<float> gates = workspace.Gates.AsSpan(gateRow * gateWidth, rows * gateWidth);
            ReadOnlySpan<float> h = current[..(rows * outputSize)];
            Span<float> hNext = next[..(rows * outputSize)];
            switch (config.CellType)
            {
                case CellType.Rnn:
                    Gemm.Multiply(h, outputSize, rows, weights.HiddenWeights, [], gates, gateWidth, accumulate: true, firstPanel, panelCount, order);
                    GateMath.RnnStep(gates, hNext, outputSize, rows, hiddenSize, config.Nonlinearity, firstUnit, units);
                    break;
                case CellType.Gru:
                    Span<float> recurrent = workspace.RecurrentGates.AsSpan(0, rows * gateWidth);
                    for (int chunk = 0; chunk < 3; chunk++)
                    {
                        int g = order == PanelOrder.Ascending ? chunk : 2 - chunk;
                        Gemm.Multiply(
                            h, outputSize, rows, weights.HiddenWeights, weights.RecurrentBias, recurrent, gateWidth, accumulate: false,
                            firstPanel + (g * hiddenSize / PackedMatrix.PanelWidth), panelCount, order);
                    }

                    GateMath.GruStep(gates, recurrent, h, outputSize, hNext, outputSize, rows, hiddenSize, firstUnit, units);
                    break;
                default:
                    for (int chunk = 0; chunk < 4; chunk++)
                    {
                        int g = order == PanelOrder.Ascending ? chunk : 3 - chunk;
                        Gemm.Multiply(
                            h, outputSize, rows, weights.HiddenWeights, [], gates, gateWidth, accumulate: true,
                            firstPanel + (g * hiddenSize / PackedMatrix.PanelWidth), panelCount, order);
                    }

                    GateMath.LstmStep(gates, workspace.Cell, hNext, outputSize, rows, hiddenSize, firstUnit, units);
                    break;
            }

            // Sequences not running at this step keep their state: carry this part's units of it over.
            for (int n = rows; n < batch; n++)
            {
                current.Slice((n * outputSize) + firstUnit, units).CopyTo(next.Slice((n * outputSize) + firstUnit, units));
            }

            int outputWidth = config.OutputWidth;
            Span<float> stepOutput = output[((_schedule.Offset(t) * outputWidth) + (_direction * outputSize) + firstUnit)..];
            StridedRows.Copy(hNext[firstUnit..], outputSize, stepOutput, outputWidth, rows, units);

            long arrived = Stopwatch.GetTimestamp();
            _barrier.SignalAndWait(parts);
            long released = Stopwatch.GetTimestamp();

            // The first step's wait includes the other parts' start-up, not their speed.
            if (i > _first)
            {
                workTicks += arrived - stepStart;
                waitTicks += released - arrived;
            }

            stepStart = released;
        }

        // Whether the calling thread waited at the barriers a large share of its own working time: then a part runs far
        // slower than its equal share should, as when another process shares its core (HelperThreads.JudgeCores).
        if (part == 0 && _end - _first >= HelperThreads.MinStepsToJudge && double.IsFinite(HelperThreads.BusyWaitShare))
        {
            HelperThreads.JudgeCores(waitTicks > HelperThreads.BusyWaitShare * workTicks);
        }
    }

    /// <summary>
    /// Cuts the hidden units into at most <paramref name="parts"/> runs of whole panels (so each part's columns of every
    /// gate chunk are whole panels of W_hh); returns the number of parts, 1 when the layer cannot be split this way
    /// (H not a multiple of the panel width, or an LSTM projection, whose product needs every unit).
    /// </summary>
    private int SplitUnits(LayerConfig config, DirectionWeights weights, int parts)
    {
        int panels = config.HiddenSize / PackedMatrix.PanelWidth;
        if (config.HiddenSize % PackedMatrix.PanelWidth != 0 || weights.ProjectionWeights is not null || parts < 2 || panels < 2)
        {
            return 1;
        }

        parts = Math.Min(parts, panels);
        for (int p = 0; p <= parts; p++)
        {
            _unitSplits[p] = panels * p / parts * PackedMatrix.PanelWidth;
        }

        return parts;
    }

    /// <summary>
    /// Cuts the batch into at most <paramref name="parts"/> runs of sequences with about equal total length (sequences
    /// are sorted longest first, so equal counts would not balance a packed batch); returns how many parts are
    /// non-empty.
    /// </summary>
    private int SplitBatch(StepSchedule schedule, int parts)
    {
        int batch = schedule.Batch;
        parts = Math.Max(1, Math.Min(parts, batch));
        _splits[0] = 0;
        for (int p = 1; p < parts; p++)
        {
            // Smallest n whose sequences [0, n) hold at least p/parts of all rows.
            long target = (long)schedule.TotalRows * p / parts;
            int lo = _splits[p - 1] + 1, hi = batch - (parts - p);
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (RowsOfFirst(schedule, mid) >= target)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }

            _splits[p] = lo;
        }

        _splits[parts] = batch;
        return parts;
    }

    /// <summary>Rows that sequences [0, n) occupy over all steps: Σ_t min(Rows(t), n).</summary>
    private static long RowsOfFirst(StepSchedule schedule, int n)
    {
        if (schedule.Rows(schedule.Steps - 1) == schedule.Batch)
        {
            return (long)schedule.Steps * n;
        }

        long rows = 0;
        for (int t = 0; t < schedule.Steps; t++)
        {
            rows += Math.Min(schedule.Rows(t), n);
        }

        return rows;
    }
}
