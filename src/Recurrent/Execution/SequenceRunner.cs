using Recurrent.Kernels;
using Recurrent.Parameters;

namespace Recurrent.Execution;

/// <summary>
/// Runs a stack of recurrent layers over a whole batch of sequences in time-major layout. For each layer and
/// direction: one matrix product projects the input rows of all steps at once (biases folded in), then the time loop
/// adds h W_hhᵀ one step at a time and applies the gate math. Layer k + 1 reads layer k's output; dropout sits between
/// layers in training mode only.
/// </summary>
/// <remarks>
/// Layouts (dense, row-major): input and output hold one row per (step, sequence) as laid out by the
/// <see cref="StepSchedule"/> — (L·N) rows for a dense batch, (Σ lengths) rows for a packed one — with H_in and
/// D·H_out columns; direction d writes columns [d·H_out, (d+1)·H_out). Initial and final states are
/// (D·layers, N, H_out) and (D·layers, N, H), or empty for zeros, with sequences in schedule (longest-first) order.
/// <para>
/// Variable lengths need no special case: each direction keeps h (and c) of every sequence in a state buffer, and a
/// step touches only the prefix of rows still running. So a sequence that has ended keeps its state after its own
/// last step (its final state), and in the reverse direction a sequence not yet started keeps its initial state
/// until its own last element comes up. No work is done on padding.
/// </para>
/// </remarks>
internal static class SequenceRunner
{
    public static void Run(
        LayerConfig config, ParameterSet parameters, StepSchedule schedule, ReadOnlySpan<float> input,
        ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Span<float> output, Span<float> finalHidden, Span<float> finalCell,
        Workspace workspace, Random? dropoutRandom)
    {
        if (dropoutRandom is null)
        {
            RunLayers(config, parameters, schedule, input, initialHidden, initialCell, output, finalHidden, finalCell, workspace, dropoutRandom);
            return;
        }

        // Dropout draws from the module's one random stream, one call at a time: a call's masks are one unbroken run of
        // the stream, as when calls come one after another, so concurrent calls take turns whole rather than layer by
        // layer (which gave each call a mix of the other's draws).
        lock (dropoutRandom)
        {
            RunLayers(config, parameters, schedule, input, initialHidden, initialCell, output, finalHidden, finalCell, workspace, dropoutRandom);
        }
    }

    private static unsafe void RunLayers(
        LayerConfig config, ParameterSet parameters, StepSchedule schedule, ReadOnlySpan<float> input,
        ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Span<float> output, Span<float> finalHidden, Span<float> finalCell,
        Workspace workspace, Random? dropoutRandom)
    {
        // Helpers are rented for the whole call, never per step. Work is cut into no more parts than there are threads
        // (the caller and the helpers it got): parts without a helper would run one after another on the caller.
        int helperCount = workspace.Parallelism > 1 && CanUseHelpers(config, schedule, workspace) ? HelperThreads.Rent(workspace.Helpers) : 0;
        try
        {
            ReadOnlySpan<float> layerInput = input;
            int layerInputWidth = config.InputSize;

            // Layers that run in lanes hand their output to the next one in lanes (no transposes in between), unless
            // dropout must be applied to it: dropout draws per element of the row-major output.
            bool lanesBetweenLayers = workspace.LaneLayerOutputs.Length > 0 && dropoutRandom is null;
            bool inputInLanes = false;
            for (int layer = 0; layer < config.NumLayers; layer++)
            {
                bool last = layer == config.NumLayers - 1;
                bool outputInLanes = !last && lanesBetweenLayers;
                Span<float> layerOutput = last ? output : outputInLanes ? workspace.LaneLayerOutputs[layer % 2].Span : workspace.LayerOutputs[layer % 2].Span;
                fixed (float* inputPointer = layerInput)
                fixed (float* outputPointer = layerOutput)
                {
                    var layerBuffers = new LayerBuffers(
                        inputPointer, layerInput.Length, layerInputWidth, outputPointer, layerOutput.Length, inputInLanes, outputInLanes);
                    DirectionPair? pair = workspace.Directions;
                    if (pair is not null && PairsDirections(pair, config, schedule, layerInputWidth, workspace, helperCount) &&
                        HelperThreads.Ready(workspace.Helpers, helperCount, DirectionPair.Flops(config, schedule, layerInputWidth)) >= 1)
                    {
                        // Two threads, two directions: each runs one direction whole, on scratch of its own (with more
                        // helpers, the others stay idle).
                        fixed (float* h0 = initialHidden, c0 = initialCell, hn = finalHidden, cn = finalCell)
                        {
                            pair.Begin(
                                config, parameters, schedule, layer, layerBuffers, new StateBuffers(h0, initialHidden.Length, c0, initialCell.Length,
                                hn, finalHidden.Length, cn, finalCell.Length));
                            HelperThreads.Run(pair, 2, workspace.Helpers, helperCount);
                        }
                    }
                    else
                    {
                        for (int direction = 0; direction < config.Directions; direction++)
                        {
                            RunLayerDirection(
                                config, parameters, schedule, layer, direction, layerBuffers, initialHidden, initialCell, finalHidden, finalCell,
                                workspace, Math.Min(workspace.Parallelism, helperCount + 1), helperCount);
                        }
                    }
                }

                if (!last && dropoutRandom is not null)
                {
                    Dropout.Apply(layerOutput[..(schedule.TotalRows * config.OutputWidth)], config.Dropout, dropoutRandom); // locked by Run
                }

                layerInput = layerOutput;
                layerInputWidth = config.OutputWidth;
                inputInLanes = outputInLanes;
            }
        }
        finally
        {
            HelperThreads.Return(workspace.Helpers, helperCount);
        }
    }

    /// <summary>Whether a bidirectional layer runs its two directions side by side: each direction must be worth a thread
    /// (<see cref="DirectionPair.WorthPairing"/>), and with more than one helper only a layer in lanes too small to split
    /// its sequences pairs (a larger layer, or one in rows, runs each direction on every thread instead).</summary>
    private static bool PairsDirections(DirectionPair pair, LayerConfig config, StepSchedule schedule, int inputWidth, Workspace workspace, int helperCount) =>
        helperCount >= 1 && pair.WorthPairing(config, schedule, inputWidth) &&
        (helperCount == 1 || (workspace.LaneStride > 0 && !DirectionPass.LaneWorkWorthSplitting(config, schedule.TotalRows, inputWidth)));

    /// <summary>Whether any phase of the call can run in parts. Layers in lanes run a whole direction as one block, split
    /// between threads by vectors of sequences (when there are two or more) only from
    /// <see cref="DirectionPass.MinLaneSplitFlops"/>, and a bidirectional layer's directions side by side only from
    /// <see cref="DirectionPair.MinDirectionFlops"/>; renting a helper for nothing is only lock traffic.</summary>
    internal static bool CanUseHelpers(LayerConfig config, StepSchedule schedule, Workspace workspace)
    {
        int widestInput = Math.Max(config.InputSize, config.OutputWidth);
        return workspace.LaneStride == 0 ||
            (workspace.LaneStride > LaneSteps.Lanes && DirectionPass.LaneWorkWorthSplitting(config, schedule.TotalRows, widestInput)) ||
            (workspace.Directions is not null && DirectionPair.Flops(config, schedule, widestInput) >= DirectionPair.MinDirectionFlops);
    }

    /// <summary>
    /// One layer and direction in up to <paramref name="parts"/> parts: its pass over the sequence, then its final h
    /// (and c) copied to their block of <paramref name="finalHidden"/> (and <paramref name="finalCell"/>).
    /// </summary>
    internal static unsafe void RunLayerDirection(
        LayerConfig config, ParameterSet parameters, StepSchedule schedule, int layer, int direction, LayerBuffers buffers,
        ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell, Span<float> finalHidden, Span<float> finalCell,
        Workspace workspace, int parts, int helperCount)
    {
        int stateIndex = layer * config.Directions + direction;
        workspace.Pass.Begin(config, parameters.Directions[stateIndex], schedule, direction, buffers, parts);
        RunDirection(
            schedule, direction == 1,
            StateBlock(initialHidden, stateIndex, schedule.Batch * config.OutputSize),
            StateBlock(initialCell, stateIndex, schedule.Batch * config.HiddenSize),
            workspace, helperCount);

        workspace.Hidden.CopyTo(finalHidden.Slice(stateIndex * workspace.Hidden.Length, workspace.Hidden.Length));
        if (config.CellType == CellType.Lstm)
        {
            workspace.Cell.CopyTo(finalCell.Slice(stateIndex * workspace.Cell.Length, workspace.Cell.Length));
        }
    }

    /// <summary>
    /// One layer and direction, set up in workspace.Pass. On return workspace.Hidden (N, H_out) and workspace.Cell
    /// (N, H) hold every sequence's final state: after its own last step going forward, after its first step going in
    /// reverse.
    /// </summary>
    private static void RunDirection(
        StepSchedule schedule, bool reverse, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Workspace workspace, int helperCount)
    {
        Initialize(workspace.Hidden, initialHidden);
        Initialize(workspace.Cell, initialCell);
        workspace.Pass.StartFromZeros(initialHidden.IsEmpty, initialCell.IsEmpty);

        // Blocks of steps in processing order: from the start going forward, from the end in reverse. Each block's
        // input product fills the gate buffer; its steps then consume it.
        int blockSteps = Math.Min(workspace.BlockSteps, schedule.Steps);
        for (int done = 0; done < schedule.Steps; done += blockSteps)
        {
            int first = reverse ? Math.Max(0, schedule.Steps - done - blockSteps) : done;
            int end = reverse ? schedule.Steps - done : Math.Min(schedule.Steps, done + blockSteps);
            workspace.Pass.RunBlock(first, end, workspace.Helpers, helperCount);
            workspace.Pass.StartFromZeros(false, false); // the state has moved on
        }
    }

    private static ReadOnlySpan<float> StateBlock(ReadOnlySpan<float> states, int index, int length) =>
        states.IsEmpty ? default : states.Slice(index * length, length);

    private static void Initialize(Span<float> state, ReadOnlySpan<float> initial)
    {
        if (initial.IsEmpty)
        {
            state.Clear();
        }
        else
        {
            initial.CopyTo(state);
        }
    }
}
