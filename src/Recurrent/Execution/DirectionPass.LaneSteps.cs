using System.Runtime.Intrinsics;
using Recurrent.Kernels;

namespace Recurrent.Execution;

/// <summary>
/// Blocks of layers with few gates (G·H ≤ 128 and H ≤ 48: LSTM H ≤ 32, GRU H ≤ 42, RNN H ≤ 48) and a batch of at
/// least <see cref="MinLaneBatch"/> (2 to 48 sequences, by cell, H and the lanes' width): the time loop runs with the batch across vector lanes (<see cref="LaneSteps"/>),
/// one step at a time as xᵀ in, the joined product (GRU: the input and hidden products apart), the gate math, h' out.
/// No input product ahead of the loop and no gate buffer of the whole block: at these sizes the row-major path spends
/// its time on short rows (packing them, per-tile overhead, gate math on part-filled vectors).
/// Same bits as the row-major path (see <see cref="LaneSteps"/>), so whether a layer runs in lanes never changes its
/// results. On more threads the batch's vectors of 16 sequences are split between them (each part runs the whole
/// block for its sequences), which cannot change them either.
/// </summary>
internal sealed unsafe partial class DirectionPass
{
    /// <summary>
    /// Largest hidden size run in lanes (with G·H ≤ <see cref="LaneSteps.MaxGateWidth"/>). Measured on the Ice Lake CI
    /// machine (2026-11-29, layers in interleaved pairs, lanes against row-major, 1 thread, 12 steps of 64 sequences
    /// unless said): LSTM H = 12 2.53×, 16 1.60× (and 1.54× at N = 256, 50 steps), 32 1.18× as fast in lanes; RNN
    /// H = 48 (N = 32, 20 steps) 1.19×, 64 1.00×, 128 0.96×: at 64 units the row-major gate math runs on whole vectors.
    /// GRU (its input and hidden products apart, as row-major): H = 5 3.49×, 16 1.79×, 32 1.22×, 42 (N = 32, 20 steps)
    /// 1.25×, two bidirectional layers of 16 at N = 256, 50 steps 1.87×; at 2 threads H = 5 3.52×, 32 1.54×, the
    /// stacked one 1.87×.
    /// </summary>
    internal const int MaxLaneHiddenSize = 48;

    /// <summary>
    /// Smallest batch run in lanes, by cell and hidden size: with few vectors of sequences a step's product has few
    /// independent FMA chains (four per vector and pass) and wastes the lanes past the batch, while row-major the rows
    /// fill more of their vectors as H grows, and RNN's row-major gate math is cheap. Measured on the Ice Lake CI
    /// machine (2026-11-29, layers in interleaved pairs, lanes against row-major, 20 steps, 1 thread), lanes' speed-up:
    /// <list type="bullet">
    /// <item>LSTM: H = 5 at N = 8 1.08–1.11×; H = 6 at 8 1.19×; H = 8 at 8, 12, 16 0.76, 0.93, 1.16×; H = 16 at 16, 24,
    /// 32, 48 0.93, 0.98, 1.19, 1.26×; H = 32 at 16, 24, 32, 48 0.66, 0.74, 0.98, 1.05× (1.16–1.18× at 64).</item>
    /// <item>GRU: H = 5 at 8 1.33–1.37×; H = 10 at 8 1.34×; H = 16 at 16, 32 1.22, 1.58×; H = 42 at 32 1.25×.</item>
    /// <item>RNN: H = 10 at 8, 12, 16 0.90, 1.19, 1.35–1.39×; H = 16 at 8, 12, 16 0.87, 1.07, 1.31×; H = 32 at 8, 16, 24,
    /// 32, 64 0.54, 0.91, 0.92, 1.19, 1.37×; H = 48 at 16, 24, 32 0.90, 0.99, 1.25×.</item>
    /// </list>
    /// </summary>
    internal static int MinLaneBatch(LayerConfig config) => LaneSteps.Width switch
    {
        LaneWidth.Vector128 => MinQuarterLaneBatch(config),
        LaneWidth.Vector256 => MinHalfLaneBatch(config),
        _ => MinWideLaneBatch(config),
    };

    /// <summary><see cref="MinLaneBatch"/> on whole Vector512 chunks (the measurements above).</summary>
    private static int MinWideLaneBatch(LayerConfig config) => config.CellType switch
    {
        CellType.Lstm => config.HiddenSize <= 6 ? 8 : config.HiddenSize <= 8 ? 16 : config.HiddenSize <= 16 ? 32 : 48,
        CellType.Gru => config.HiddenSize <= 10 ? 8 : config.HiddenSize <= 21 ? 16 : 32,
        _ => config.HiddenSize <= 16 ? 12 : 32,
    };

    /// <summary>
    /// <see cref="MinLaneBatch"/> where the lanes run on Vector256 halves (AVX2) and stop at the last half chunk (8
    /// sequences) that runs. Measured on the Zen 3 machine (2026-11-30, one build loaded twice in one process, lanes against
    /// row-major in alternate calls, both slot orders, geometric mean; 20 steps, 1 thread), as fast in lanes: LSTM H = 5 at
    /// N = 2, 4, 6 0.88, 1.28, 1.69×; H = 8 at 4, 6, 8, 12 0.83, 1.14, 1.53, 1.30×; H = 16 at 8, 12, 16, 24 1.12, 0.95,
    /// 1.37, 1.25×; H = 32 at 16, 24, 32, 40 1.17, 1.09, 1.17, 1.13× (at 2 threads, N = 16: 1.16×; 100 steps 1.19×). GRU
    /// H = 5 at 4, 6 1.42, 1.77×; H = 10 at 4, 6 1.12, 1.44×; H = 16 at 4, 6, 8, 12 0.72, 0.91, 1.35, 1.11×; H = 21 at 8
    /// 1.41×; H = 32 at 8, 16, 24 0.96, 1.15, 1.06×; H = 42 at 16, 24 1.31, 1.23× (2 threads 1.33×). RNN tanh H = 10 at 4,
    /// 6, 8 0.89, 1.13, 1.65×, H = 12 at 6, 8 1.12, 1.71×; relu H = 10 at 6, 16 1.21, 2.6×, H = 12 at 8 2.1×. While the
    /// halves ran whole chunks, Vector256 took <see cref="MinWideLaneBatch"/>'s bounds (LSTM H ≤ 6 from 8, ≤ 8 from 16, ≤ 16
    /// from 32, else 48; GRU ≤ 10 from 8, ≤ 21 from 16, else 32; RNN from 12).
    /// </summary>
    private static int MinHalfLaneBatch(LayerConfig config) => config.CellType switch
    {
        CellType.Lstm => config.HiddenSize <= 6 ? 4 : config.HiddenSize <= 8 ? 6 : 16,
        CellType.Gru => config.HiddenSize <= 10 ? 4 : config.HiddenSize <= 21 ? 8 : 16,
        _ => 6,
    };

    /// <summary>
    /// <see cref="MinLaneBatch"/> where the lanes run on Vector128 quarters and stop at the last quarter (4 sequences)
    /// that runs: smaller batches pay there. Measured on the Zen 3 machine with <c>DOTNET_EnableAVX=0</c> (2026-11-30, one
    /// build loaded twice in one process, lanes against row-major in alternate calls, both slot orders, geometric mean; 20
    /// steps, 1 thread): LSTM H = 5 at N = 2, 3 1.19, 1.60×; H = 8 at 4, 6, 8 0.98, 0.92, 1.11×; H = 16 at 8 1.01×; GRU
    /// H = 5 at 2, 3 1.28, 1.63×; H = 10 at 4 1.31×; H = 16 at 6, 8 0.92, 1.14×; H = 21 at 8, 12 1.20, 1.12×; RNN tanh
    /// H = 10 at 4 1.21×, H = 16 at 4 1.06×, H = 24 at 12 0.93×. While they stopped at half chunks (8 sequences), two
    /// builds in one process: LSTM H = 5 at N = 4, 6 1.71, 2.25×; H = 8 at 8 and 12 1.15 and 0.90×; H = 16 at 8 and 16
    /// 1.00×; GRU H = 5 at 4 1.65×, H = 10 at 4 and 6 0.87 and 1.24×; RNN tanh H = 10 at 4 and 8 1.00 and 1.49×, H = 16
    /// at 8 1.34×. Above those hidden sizes, the bounds of whole Vector512 chunks (<see cref="MinWideLaneBatch"/>).
    /// </summary>
    private static int MinQuarterLaneBatch(LayerConfig config) => config.CellType switch
    {
        CellType.Lstm => config.HiddenSize <= 6 ? 2 : config.HiddenSize <= 8 ? 8 : config.HiddenSize <= 16 ? 32 : 48,
        CellType.Gru => config.HiddenSize <= 5 ? 2 : config.HiddenSize <= 10 ? 4 : config.HiddenSize <= 21 ? 8 : 32,
        _ => config.HiddenSize <= 16 ? 4 : 32,
    };

    /// <summary>Blocks run in lanes, process-wide (lets tests see that the path ran).</summary>
    private static long s_laneBlocks;

    /// <summary>Blocks run in lanes so far, process-wide.</summary>
    internal static long LaneBlocks => Interlocked.Read(ref s_laneBlocks);

    /// <summary>Blocks run in lanes split between threads, process-wide.</summary>
    private static long s_laneSplitBlocks;

    /// <summary>Blocks run in lanes split between threads so far, process-wide.</summary>
    internal static long LaneSplitBlocks => Interlocked.Read(ref s_laneSplitBlocks);

    /// <summary>Tests only: forces lane steps on or off for workspaces created from now on (null: where the lane
    /// kernels' width is accelerated, <see cref="LanesPay"/>; they are slow where the runtime emulates it).</summary>
    internal static bool? LanesOverride { get; set; }

    /// <summary>
    /// Largest RNN hidden size run in lanes where they run on Vector256 halves (AVX2; <see cref="LaneSteps.Width"/> Vector256),
    /// where a row-major RNN step of 16 or more units already fills whole 8-lane vectors. Measured on the Zen 3 CI machine
    /// (2026-11-29, layers in interleaved pairs, lanes against row-major, 1 thread, 20 steps unless said): RNN 20 → 10, 4
    /// bidirectional layers at N = 64, 5 steps (T2) 2.09× as fast in lanes; H = 16 at N = 12 0.98×; H = 32 at 32 0.65×;
    /// H = 40 at 32 0.99×; H = 48 at 32, 64, 128 0.92, 0.91, 0.90×. LSTM and GRU gain or hold up to the bounds above: LSTM
    /// 10 → 5 at N = 64, 12 steps (T1) 2.21×, H = 6 at 8 1.39×, 16 at 32 1.06×, 32 at 64 (12 steps) 1.00×, two bidirectional
    /// layers of 16 at N = 256, 50 steps 1.22×; GRU H = 5 at 64 (12 steps) 2.21×, 21 at 16 1.18×, 42 at 32 1.18×.
    /// </summary>
    internal const int MaxNarrowLaneRnnHiddenSize = 12;

    /// <summary>
    /// Largest RNN hidden size run in lanes where they run on Vector128 quarters (Arm64, x64 before AVX2). Measured on the
    /// Zen 3 machine (2026-11-30, two builds in one process, lanes against row-major, 1 thread, 20 steps), as fast in
    /// lanes with <c>DOTNET_EnableAVX=0</c> (SSE only) / <c>DOTNET_EnableAVX2=0</c> (AVX without FMA): tanh H = 10 at N =
    /// 64 1.74 / 2.35×, 12 at 12 1.44 / 1.52×, 16 at 16 and 64 1.30 and 1.60 / 1.78 and 2.21×, 24 at 32 1.03 / 1.34×, 32
    /// at 32 and 64 0.84 and 0.81 / 1.02 and 1.00×. LSTM and GRU as on Vector256 (the same bounds): LSTM 5 at 8 1.70 /
    /// 1.77×, 16 and 32 at 64 1.01 / 1.08× and 1.01 / 1.03×; GRU 5 at 8 1.67 / 1.71×, 16 at 16 1.15 / 1.24×, 42 at 32
    /// 1.03 / 1.01×; T1 2.47 / 3.30×, T2 2.23 / 2.62×.
    /// </summary>
    internal const int MaxQuarterLaneRnnHiddenSize = 24;

    /// <summary>Whether a workspace for <paramref name="config"/> at <paramref name="batch"/> runs its blocks in lanes.</summary>
    internal static bool RunsInLanes(LayerConfig config, int batch) =>
        (LanesOverride ?? LanesPay(config)) && MayRunInLanes(config) && batch >= MinLaneBatch(config);

    /// <summary>Where the lane kernels' width is accelerated, and on Vector256 and Vector128 not for the wider RNN
    /// layers.</summary>
    private static bool LanesPay(LayerConfig config) => LaneSteps.Width switch
    {
        LaneWidth.Vector512 => true,
        LaneWidth.Vector256 => config.CellType != CellType.Rnn || config.HiddenSize <= MaxNarrowLaneRnnHiddenSize,
        _ => Vector128.IsHardwareAccelerated && (config.CellType != CellType.Rnn || config.HiddenSize <= MaxQuarterLaneRnnHiddenSize),
    };

    /// <summary>Whether some batch size of this layer runs in lanes on some machine: the lane kernels take its cell.</summary>
    internal static bool MayRunInLanes(LayerConfig config) =>
        config.ProjSize == 0 && config.GateWidth <= LaneSteps.MaxGateWidth && config.HiddenSize <= MaxLaneHiddenSize;

    /// <summary>
    /// A block in lanes is split between threads by vectors of sequences only from this many FLOPs (a bidirectional
    /// layer's directions side by side have their own bound, <see cref="DirectionPair.MinDirectionFlops"/>). Below it
    /// the hand-off and the wait for the helper's part take what the split saves. A split waits for a helper only while
    /// it spins (a sleeping one is woken only from <see cref="HelperThreads.MinWakeFlops"/>: waking it took ~300 µs a
    /// call, LSTM 16 at N = 64 after 3 ms idle).
    /// <para>On Vector512 lanes 4 MFLOP. On the Zen 5 machine (2026-12-01, AVX-512, own blocks, calls back to back,
    /// steady-state medians, µs a call, one thread → two): T1 (0.46 MFLOP) 7.5 → 12.5; LSTM 10 → 5 at N = 128 (0.92)
    /// 14 → 20, at N = 256 (1.84) 28 → 31; GRU 10 → 10 at N = 64, 12 steps (0.92) 11.5 → 19.5; LSTM 16 at N = 64,
    /// 12 steps (3.1) even; LSTM 32 at N = 64, 5 steps (5.2) 33 → 25, 20 steps 125 → 82. Each of T1's two halves took
    /// longer (caller 9.9, helper 10.4 µs) than the whole layer on one thread: not the hand-off (the helper started
    /// 0.66 µs after the caller) but the two cores slowing each other, still unexplained.</para>
    /// <para>On narrower lanes 0.3 MFLOP. On the Zen 3 machine (2026-12-01, AVX2, 2 threads, separate processes in
    /// turn, median µs a call, 32 MFLOP before → 0.3): T1 23.6, 18.9, 16.3 → 11.1, 15.8, 16.8; GRU 10 → 5 at N = 64,
    /// 12 steps 23.6 → 15.1; LSTM 32 at N = 64, 20 steps (21 MFLOP) 438 → 276. T2's layers (0.19 MFLOP a direction)
    /// ran 38 µs a call unsplit and 41–43 split. The Ice Lake machine had set 32 MFLOP (2026-11-29), measured while
    /// every split still woke the helper.</para>
    /// </summary>
    internal static readonly double MinLaneSplitFlops = LaneSteps.Width == LaneWidth.Vector512 ? 4e6 : 0.3e6;

    /// <summary>
    /// Whether a block in lanes split between threads gives each part lane buffers of its own (rows of the part's columns,
    /// one block per part) rather than its columns of rows shared with the other parts. Shared rows put each part's stores
    /// next to the other's, and a core's prefetcher, running ahead of its stores, can pull the other core's lines away:
    /// on the Zen 5 machine (2026-12-01) two threads storing 64 floats each of such rows ran 10–20× slower than storing
    /// into blocks apart. Split layers from 4 MFLOP (<see cref="MinLaneSplitFlops"/>; 2026-12-02, two threads, calls back
    /// to back, the layouts alternating in one process, median of shared / own): LSTM 16 at N = 128, 50 steps 1.99, at
    /// N = 256, 12 steps 1.73; LSTM 32 at N = 128 1.81, at N = 64, 20 steps 1.02; LSTM 8 at N = 512 1.31; GRU 21 at
    /// N = 128 1.82, GRU 16 at N = 256 1.51, GRU 10 at N = 512 1.11; but LSTM 16 at N = 64, 50 steps 0.89, GRU 32 at
    /// N = 64 0.83, GRU 10 at N = 2048 0.67. On the Vector256 lanes (DOTNET_EnableAVX512=0) own blocks measured slower
    /// at N = 64 (0.66× against 0.93×), so those, and the Vector128 ones (not measured), keep the shared rows. Either
    /// gives the same bits. Settable for tests.
    /// </summary>
    internal static bool SplitLanesInOwnBlocks { get; set; } = LaneSteps.Width == LaneWidth.Vector512;

    /// <summary>Parts the block's lane steps run in: the batch's vectors of 16 sequences split between threads (sequences
    /// are independent, so no part waits for another), when the block has the work for it.</summary>
    private int LaneParts(int helperCount)
    {
        int vectors = _workspace.LaneStride / LaneSteps.Lanes;
        return LaneWorkWorthSplitting(_config, _blockRows, _inputWidth) ? Math.Max(1, Math.Min(Math.Min(_parts, helperCount + 1), vectors)) : 1;
    }

    /// <summary>Whether workspace.Hidden (and Cell) hold zeros at the start of the next block (no initial state given):
    /// its lane steps then clear their lane buffers rather than transposing zeros into them. Set by the runner before a
    /// direction's first block, reset after each block.</summary>
    private bool _hiddenStartsAtZero, _cellStartsAtZero;

    /// <summary>Tells the next block that workspace.Hidden (<paramref name="hidden"/>) and workspace.Cell
    /// (<paramref name="cell"/>) hold zeros, as a direction without an initial state starts.</summary>
    public void StartFromZeros(bool hidden, bool cell)
    {
        _hiddenStartsAtZero = hidden;
        _cellStartsAtZero = cell;
    }

    /// <summary>Whether <paramref name="rows"/> rows of a layer in lanes (input width <paramref name="inputWidth"/>) are
    /// the work to share threads (<see cref="MinLaneSplitFlops"/>).</summary>
    internal static bool LaneWorkWorthSplitting(LayerConfig config, int rows, int inputWidth) =>
        2.0 * rows * config.GateWidth * (inputWidth + config.OutputSize) >= MinLaneSplitFlops;

    /// <summary>
    /// First sequence of part <paramref name="part"/> of <paramref name="parts"/> (the batch for part = parts): a whole
    /// number of vectors of 16 sequences, the fewest whose sequences hold at least part/parts of the rows (sequences
    /// are sorted longest first, so equal counts of vectors would give the first part most of the work). Every part
    /// computes the same boundaries.
    /// </summary>
    private int LaneSplit(int part, int parts, int vectors)
    {
        if (part == 0)
        {
            return 0;
        }

        if (part == parts)
        {
            return vectors * LaneSteps.Lanes;
        }

        long target = (long)_schedule.TotalRows * part / parts;
        int v = 1;
        while (v < vectors - (parts - part) && RowsOfFirst(_schedule, Math.Min(_schedule.Batch, v * LaneSteps.Lanes)) < target)
        {
            v++;
        }

        return Math.Max(v, LaneSplit(part - 1, parts, vectors) / LaneSteps.Lanes + 1) * LaneSteps.Lanes;
    }

    /// <summary>
    /// The block's steps in lanes for this part's sequences: a run of the batch's vectors of 16 sequences
    /// (<see cref="LaneSplit"/>), every lane buffer viewed from the part's first column (same row stride), or, in own
    /// blocks (<see cref="SplitLanesInOwnBlocks"/>), as a block of the part's own (its columns the row stride). Per part:
    /// workspace.Hidden and workspace.Cell rows transposed in, then per step xᵀ in (or read as it is from a lower layer's
    /// output in lanes), the joined product (GRU: two products), the gate math, h' out to the output rows (or, for an
    /// output in lanes, which the next layer reads, written there in the first place). Invariant between steps:
    /// <c>hidden</c> (one of <see cref="Workspace.LaneHidden"/>'s two buffers, or with an output in lanes the part's columns of
    /// the last step's block of it) holds hᵀ and <see cref="Workspace.LaneCell"/> cᵀ of the part's sequences, run or not. On
    /// return their rows of workspace.Hidden and workspace.Cell hold them row-major again. Parts write disjoint columns (or
    /// disjoint blocks) of the lane buffers, disjoint rows of the state and output.
    /// </summary>
    private void RunLaneSteps(int part, int parts)
    {
        if (part == 0)
        {
            Interlocked.Increment(ref s_laneBlocks);
            if (parts > 1)
            {
                Interlocked.Increment(ref s_laneSplitBlocks);
            }
        }

        Workspace workspace = _workspace;
        LayerConfig config = _config;
        int stride = workspace.LaneStride, batch = _schedule.Batch, hiddenSize = config.HiddenSize, inputWidth = _inputWidth;
        int outputWidth = config.OutputWidth, laneFloats = hiddenSize * stride, vectors = stride / LaneSteps.Lanes;
        int first = LaneSplit(part, parts, vectors), end = Math.Min(batch, LaneSplit(part + 1, parts, vectors));
        int count = end - first, columns = (count + LaneSteps.Lanes - 1) / LaneSteps.Lanes * LaneSteps.Lanes;
        if (count <= 0)
        {
            return;
        }

        // Split between threads, each part's lane buffers are a block of its own where RunBlock decided so
        // (_laneOwnBlocks): its rows one after another, its columns the row stride (laneStride), at offset first·rows in
        // each buffer. A lower or upper layer's lanes (read or written by step blocks of the whole stride) keep the
        // shared rows: the next layer may split differently.
        bool ownBlocks = parts > 1 && _laneOwnBlocks;
        int laneStride = ownBlocks ? columns : stride;
        bool lstm = config.CellType == CellType.Lstm, gru = config.CellType == CellType.Gru;
        int gateRows = LaneSteps.GateRows(config.GateWidth), gateFloats = gateRows * stride;
        Span<float> hidden = PartLanes(workspace.LaneHidden, 0, hiddenSize);
        Span<float> hiddenNext = PartLanes(workspace.LaneHidden, laneFloats, hiddenSize);
        Span<float> cell = lstm ? PartLanes(workspace.LaneCell, 0, hiddenSize) : default;
        Span<float> inputs = PartLanes(workspace.LaneInputs, 0, inputWidth);
        Span<float> gates = PartLanes(workspace.LaneGates, 0, gateRows);
        Span<float> hiddenGates = gru ? PartLanes(workspace.LaneGates, gateFloats, gateRows) : default;

        // This part's view of a lane buffer of `rows` rows from `offset`: its own block, or its columns of the shared rows.
        Span<float> PartLanes(AlignedFloats buffer, int offset, int rows) =>
            ownBlocks ? buffer.AsSpan(offset + (first * rows), columns * rows) : buffer.AsSpan(offset + first, (rows * stride) - first);
        var input = new ReadOnlySpan<float>(_input, _inputLength);
        var output = new Span<float>(_output, _outputLength);

        StateToLanes(workspace.Hidden.AsSpan(first * hiddenSize), _hiddenStartsAtZero, hidden);
        if (lstm)
        {
            StateToLanes(workspace.Cell.AsSpan(first * hiddenSize), _cellStartsAtZero, cell);
        }

        // The part's rows of a state, transposed into its columns of a lane buffer; zeros are written, not transposed.
        void StateToLanes(Span<float> rowMajor, bool zeros, Span<float> lanes)
        {
            if (!zeros)
            {
                LaneTransposes.ToLanes(rowMajor, hiddenSize, count, hiddenSize, lanes, laneStride);
                return;
            }

            for (int u = 0; u < hiddenSize; u++)
            {
                lanes.Slice(u * laneStride, columns).Clear();
            }
        }

        bool reverse = _direction == 1;
        for (int i = _first; i < _end; i++)
        {
            int t = reverse ? _end - 1 - (i - _first) : i;
            int rows = Math.Min(_schedule.Rows(t), end) - first, offset = _schedule.Offset(t) + first;
            if (rows <= 0)
            {
                continue; // the part's sequences have all ended (sequences are sorted longest first): their state stays
            }

            // x_tᵀ: straight from a lower layer's output in lanes, else transposed from the input rows.
            ReadOnlySpan<float> stepInputs = inputs;
            if (_inputInLanes)
            {
                stepInputs = input.Slice((t * inputWidth * stride) + first, (inputWidth * stride) - first);
            }
            else
            {
                // The input from this step's rows to its end: past this step's rows the transposes may read (not use) whole
                // vectors, which lets a narrow last block run straight (LaneTransposes.ToLanes256).
                LaneTransposes.ToLanes(input[(offset * inputWidth)..], inputWidth, rows, inputWidth, inputs, laneStride);
            }

            if (_outputInLanes)
            {
                // h' straight into the part's columns of this direction's rows of step t's block: the same H × stride layout,
                // and every column of them written (running lanes computed, the others carried over), so it is the next
                // step's h as it stands. Not a block another step reads: each step has its own.
                hiddenNext = output.Slice((((t * outputWidth) + (_direction * hiddenSize)) * stride) + first, laneFloats - first);
            }

            if (gru)
            {
                // GRU's reset gate multiplies the hidden part of n alone, so the two products stay apart (as row-major).
                LaneSteps.Product(_weights.InputWeights, _weights.InputBias, stepInputs, inputWidth, hidden, 0, laneStride, rows, gates);
                LaneSteps.Product(_weights.HiddenWeights, _weights.RecurrentBias, hidden, hiddenSize, hidden, 0, laneStride, rows, hiddenGates);
                LaneSteps.Gru(gates, hiddenGates, hidden, hiddenNext, hiddenSize, laneStride, rows, columns);
            }
            else if (lstm)
            {
                LaneSteps.Product(_weights.JoinedWeights!, _weights.InputBias, stepInputs, inputWidth, hidden, hiddenSize, laneStride, rows, gates);
                LaneSteps.Lstm(gates, hidden, cell, hiddenNext, hiddenSize, laneStride, rows, columns);
            }
            else
            {
                LaneSteps.Product(_weights.JoinedWeights!, _weights.InputBias, stepInputs, inputWidth, hidden, hiddenSize, laneStride, rows, gates);
                LaneSteps.Rnn(gates, hidden, hiddenNext, hiddenSize, laneStride, rows, columns, config.Nonlinearity);
            }

            if (!_outputInLanes)
            {
                LaneTransposes.FromLanes(hiddenNext, laneStride, rows, hiddenSize, output[((offset * outputWidth) + (_direction * hiddenSize))..], outputWidth);
            }

            Span<float> swap = hidden;
            hidden = hiddenNext;
            hiddenNext = swap;
        }

        LaneTransposes.FromLanes(hidden, laneStride, count, hiddenSize, workspace.Hidden.AsSpan(first * hiddenSize), hiddenSize);
        if (lstm)
        {
            LaneTransposes.FromLanes(cell, laneStride, count, hiddenSize, workspace.Cell.AsSpan(first * hiddenSize), hiddenSize);
        }
    }
}
