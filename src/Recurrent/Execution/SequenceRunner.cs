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
        ReadOnlySpan<float> layerInput = input;
        int layerInputWidth = config.InputSize;
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            bool last = layer == config.NumLayers - 1;
            Span<float> layerOutput = last ? output : workspace.LayerOutputs[layer % 2];
            for (int direction = 0; direction < config.Directions; direction++)
            {
                int stateIndex = layer * config.Directions + direction;
                RunDirection(
                    config, parameters.Directions[stateIndex], schedule, direction, layerInput, layerInputWidth, layerOutput,
                    StateBlock(initialHidden, stateIndex, schedule.Batch * config.OutputSize),
                    StateBlock(initialCell, stateIndex, schedule.Batch * config.HiddenSize),
                    workspace);

                workspace.Hidden.CopyTo(finalHidden.Slice(stateIndex * workspace.Hidden.Length, workspace.Hidden.Length));
                if (config.CellType == CellType.Lstm)
                {
                    workspace.Cell.CopyTo(finalCell.Slice(stateIndex * workspace.Cell.Length, workspace.Cell.Length));
                }
            }

            if (!last && dropoutRandom is not null)
            {
                // The random stream is the module's: one forward at a time draws from it.
                lock (dropoutRandom)
                {
                    Dropout.Apply(layerOutput[..(schedule.TotalRows * config.OutputWidth)], config.Dropout, dropoutRandom);
                }
            }

            layerInput = layerOutput;
            layerInputWidth = config.OutputWidth;
        }
    }

    /// <summary>
    /// One layer and direction. On return workspace.Hidden (N, H_out) and workspace.Cell (N, H) hold every sequence's
    /// final state: after its own last step going forward, after its first step going in reverse.
    /// </summary>
    private static void RunDirection(
        LayerConfig config, DirectionWeights weights, StepSchedule schedule, int direction, ReadOnlySpan<float> layerInput,
        int layerInputWidth, Span<float> layerOutput, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Workspace workspace)
    {
        int gateWidth = config.GateWidth;
        bool reverse = direction == 1;

        // Invariant: row n of hidden (and cell) is sequence n's state after the last step it has taken in this direction.
        Span<float> hidden = workspace.Hidden;
        Span<float> cell = workspace.Cell;
        Initialize(hidden, initialHidden);
        Initialize(cell, initialCell);

        // Blocks of steps in processing order: from the start going forward, from the end in reverse. Each block's
        // input product fills the gate buffer; its steps then consume it.
        Span<float> gates = workspace.Gates;
        int blockSteps = Math.Min(workspace.BlockSteps, schedule.Steps);
        for (int done = 0; done < schedule.Steps; done += blockSteps)
        {
            int first = reverse ? Math.Max(0, schedule.Steps - done - blockSteps) : done;
            int end = reverse ? schedule.Steps - done : Math.Min(schedule.Steps, done + blockSteps);
            int firstRow = schedule.Offset(first);
            int blockRows = schedule.Offset(end - 1) + schedule.Rows(end - 1) - firstRow;
            Gemm.Multiply(
                layerInput[(firstRow * layerInputWidth)..], layerInputWidth, blockRows, weights.InputWeights, weights.InputBias,
                gates, gateWidth, accumulate: false);

            for (int i = first; i < end; i++)
            {
                int t = reverse ? end - 1 - (i - first) : i;
                RunStep(config, weights, schedule, t, schedule.Offset(t) - firstRow, direction, hidden, cell, layerOutput, workspace);
            }
        }
    }

    /// <summary>One step t: its gate rows sit at <paramref name="gateRow"/> of the gate buffer.</summary>
    private static void RunStep(
        LayerConfig config, DirectionWeights weights, StepSchedule schedule, int t, int gateRow, int direction,
        Span<float> hidden, Span<float> cell, Span<float> layerOutput, Workspace workspace)
    {
        int gateWidth = config.GateWidth;
        int hiddenSize = config.HiddenSize;
        int outputSize = config.OutputSize;
        int outputWidth = config.OutputWidth;
        int rows = schedule.Rows(t);
        Span<float> stepGates = workspace.Gates.AsSpan(gateRow * gateWidth, rows * gateWidth);
        Span<float> stepHidden = hidden[..(rows * outputSize)];
        switch (config.CellType)
        {
            case CellType.Rnn:
                Gemm.Multiply(stepHidden, outputSize, rows, weights.HiddenWeights, [], stepGates, gateWidth, accumulate: true);
                GateMath.RnnStep(stepGates, stepHidden, outputSize, rows, hiddenSize, config.Nonlinearity);
                break;
            case CellType.Gru:
                Span<float> recurrent = workspace.RecurrentGates;
                Gemm.Multiply(stepHidden, outputSize, rows, weights.HiddenWeights, weights.RecurrentBias, recurrent, gateWidth, accumulate: false);

                // Each row reads its h before writing h' over it.
                GateMath.GruStep(stepGates, recurrent, stepHidden, outputSize, stepHidden, outputSize, rows, hiddenSize);
                break;
            default:
                Gemm.Multiply(stepHidden, outputSize, rows, weights.HiddenWeights, [], stepGates, gateWidth, accumulate: true);
                if (weights.ProjectionWeights is { } projection)
                {
                    Span<float> unprojected = workspace.Unprojected;
                    GateMath.LstmStep(stepGates, cell, unprojected, hiddenSize, rows, hiddenSize);
                    Gemm.Multiply(unprojected, hiddenSize, rows, projection, [], stepHidden, outputSize, accumulate: false);
                }
                else
                {
                    GateMath.LstmStep(stepGates, cell, stepHidden, outputSize, rows, hiddenSize);
                }

                break;
        }

        Span<float> stepOutput = layerOutput[(schedule.Offset(t) * outputWidth + direction * outputSize)..];
        for (int n = 0; n < rows; n++)
        {
            stepHidden.Slice(n * outputSize, outputSize).CopyTo(stepOutput.Slice(n * outputWidth, outputSize));
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
