using Recurrent.Kernels;
using Recurrent.Parameters;

namespace Recurrent.Execution;

/// <summary>
/// Runs a stack of recurrent layers over a whole sequence in seq-first layout. For each layer and direction: one
/// matrix product projects the input of all L steps at once (biases folded in), then the time loop adds
/// h W_hhᵀ for one step at a time and applies the gate math. Layer k + 1 reads layer k's output; dropout sits
/// between layers in training mode only.
/// </summary>
/// <remarks>
/// Layouts (all dense, row-major): input (L, N, H_in); initial states (D*layers, N, H_out) and (D*layers, N, H) or
/// empty for zeros; output (L, N, D*H_out), where direction d of step t occupies columns [d*H_out, (d+1)*H_out) of
/// row t*N + n; final states like the initial ones. The previous step's h is read straight from the output rows the
/// direction wrote, so h is never copied inside the time loop.
/// </remarks>
internal static class SequenceRunner
{
    public static void Run(
        LayerConfig config, ParameterSet parameters, ReadOnlySpan<float> input,
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
                var state = new StateSlices(config, workspace.Batch, stateIndex, initialHidden, initialCell, finalHidden, finalCell);
                RunDirection(config, parameters.Directions[stateIndex], direction, layerInput, layerInputWidth, layerOutput, state, workspace);
            }

            if (!last && dropoutRandom is not null)
            {
                // The random stream is the module's: one forward at a time draws from it.
                lock (dropoutRandom)
                {
                    Dropout.Apply(layerOutput, config.Dropout, dropoutRandom);
                }
            }

            layerInput = layerOutput;
            layerInputWidth = config.OutputWidth;
        }
    }

    private static void RunDirection(
        LayerConfig config, DirectionWeights weights, int direction, ReadOnlySpan<float> layerInput, int layerInputWidth,
        Span<float> layerOutput, StateSlices state, Workspace workspace)
    {
        int steps = workspace.Steps;
        int batch = workspace.Batch;
        int gateWidth = config.GateWidth;
        int hiddenSize = config.HiddenSize;
        int outputSize = config.OutputSize;
        int outputWidth = config.OutputWidth;
        bool reverse = direction == 1;

        Span<float> gates = workspace.Gates;
        Gemm.Multiply(layerInput, layerInputWidth, steps * batch, weights.InputWeights, weights.InputBias, gates, gateWidth, accumulate: false);

        // h of the previous step: the initial state first, then the rows this direction wrote one step earlier.
        ReadOnlySpan<float> previous = state.InitialHidden.IsEmpty ? workspace.ZeroState : state.InitialHidden;
        int previousStride = outputSize;
        Span<float> cell = workspace.Cell;
        if (config.CellType == CellType.Lstm)
        {
            if (state.InitialCell.IsEmpty)
            {
                cell.Clear();
            }
            else
            {
                state.InitialCell.CopyTo(cell);
            }
        }

        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            Span<float> stepGates = gates.Slice(t * batch * gateWidth, batch * gateWidth);
            Span<float> hidden = layerOutput[(t * batch * outputWidth + direction * outputSize)..];
            switch (config.CellType)
            {
                case CellType.Rnn:
                    Gemm.Multiply(previous, previousStride, batch, weights.HiddenWeights, [], stepGates, gateWidth, accumulate: true);
                    GateMath.RnnStep(stepGates, hidden, outputWidth, batch, hiddenSize, config.Nonlinearity);
                    break;
                case CellType.Gru:
                    Span<float> recurrent = workspace.RecurrentGates;
                    Gemm.Multiply(previous, previousStride, batch, weights.HiddenWeights, weights.RecurrentBias, recurrent, gateWidth, accumulate: false);
                    GateMath.GruStep(stepGates, recurrent, previous, previousStride, hidden, outputWidth, batch, hiddenSize);
                    break;
                default:
                    Gemm.Multiply(previous, previousStride, batch, weights.HiddenWeights, [], stepGates, gateWidth, accumulate: true);
                    if (weights.ProjectionWeights is { } projection)
                    {
                        Span<float> unprojected = workspace.Unprojected;
                        GateMath.LstmStep(stepGates, cell, unprojected, hiddenSize, batch, hiddenSize);
                        Gemm.Multiply(unprojected, hiddenSize, batch, projection, [], hidden, outputWidth, accumulate: false);
                    }
                    else
                    {
                        GateMath.LstmStep(stepGates, cell, hidden, outputWidth, batch, hiddenSize);
                    }

                    break;
            }

            previous = hidden;
            previousStride = outputWidth;
        }

        for (int n = 0; n < batch; n++)
        {
            previous.Slice(n * previousStride, outputSize).CopyTo(state.FinalHidden.Slice(n * outputSize, outputSize));
        }

        if (config.CellType == CellType.Lstm)
        {
            cell.CopyTo(state.FinalCell);
        }
    }

    /// <summary>The (N, H_out) and (N, H) blocks of the state tensors that belong to one layer and direction.</summary>
    private readonly ref struct StateSlices
    {
        public StateSlices(
            LayerConfig config, int batch, int stateIndex, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
            Span<float> finalHidden, Span<float> finalCell)
        {
            int hiddenBlock = batch * config.OutputSize;
            int cellBlock = batch * config.HiddenSize;
            InitialHidden = initialHidden.IsEmpty ? default : initialHidden.Slice(stateIndex * hiddenBlock, hiddenBlock);
            InitialCell = initialCell.IsEmpty ? default : initialCell.Slice(stateIndex * cellBlock, cellBlock);
            FinalHidden = finalHidden.Slice(stateIndex * hiddenBlock, hiddenBlock);
            FinalCell = finalCell.IsEmpty ? default : finalCell.Slice(stateIndex * cellBlock, cellBlock);
        }

        public ReadOnlySpan<float> InitialHidden { get; }

        public ReadOnlySpan<float> InitialCell { get; }

        public Span<float> FinalHidden { get; }

        public Span<float> FinalCell { get; }
    }
}
