using System.Numerics.Tensors;
using System.Reflection;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// Our library as a user calls it in a hot loop: <c>Forward(input, h0: empty, ..., output, h_n, .., workspace)</c> from
/// zero states into buffers created once (as ONNX Runtime runs into OrtValues created once); or, streaming,
/// <c>Step(input step t, state, output step t)</c> into caller-owned buffers. Neither allocates once warmed up.
/// </summary>
internal sealed class OursRunner : ILibraryRunner
{
    private readonly RecurrentLayer _layer;
    private readonly Tensor<float> _input;
    private readonly RecurrentState? _state; // streaming only, like the fields below
    private readonly float[] _streamInput = [];
    private readonly float[] _streamOutput = [];
    private readonly nint[] _inputStepShape = [];
    private readonly nint[] _outputStepShape = [];
    private readonly int _steps, _inputStepLength, _outputStepLength;
    private readonly ForwardWorkspace _workspace = new();
    private readonly (Tensor<float> Output, Tensor<float> Hidden, Tensor<float>? Cell) _buffers;

    private OursRunner(RecurrentLayer layer, Tensor<float> input, bool streaming)
    {
        _layer = layer;
        _input = input;

        // Buffers shaped as Forward returns them (the reference run gives the shapes).
        var (output, hidden, cell) = ForwardTensors(layer, input);
        _buffers = (Tensor.CreateFromShape<float>(output.Lengths), Tensor.CreateFromShape<float>(hidden.Lengths),
            cell is null ? null : Tensor.CreateFromShape<float>(cell.Lengths));
        if (streaming)
        {
            int batch = (int)input.Lengths[1];
            _steps = (int)input.Lengths[0];
            _inputStepLength = batch * layer.InputSize;
            _outputStepLength = batch * layer.HiddenSize;
            _state = layer.CreateState(batch);
            _streamInput = CaseOutputs.ToArray(input);
            _streamOutput = new float[_steps * _outputStepLength];
            _inputStepShape = [1, batch, layer.InputSize];
            _outputStepShape = [1, batch, layer.HiddenSize];
        }
    }

    public string Version =>
        typeof(RecurrentLayer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";

    /// <summary>Null, with the reason, when our library cannot run at <paramref name="threads"/> threads.</summary>
    public static OursRunner? Create(RecurrentLayer layer, Tensor<float> input, bool streaming, int threads, out string? unavailableReason)
    {
        if (!TrySetThreads(layer, threads))
        {
            unavailableReason = $"the library cannot run on {threads} threads";
            return null;
        }

        unavailableReason = null;
        return new OursRunner(layer, input, streaming);
    }

    /// <summary>The one place that gives our layer its thread count.</summary>
    public static bool TrySetThreads(RecurrentLayer layer, int threads)
    {
        ArgumentNullException.ThrowIfNull(layer);
        layer.MaxDegreeOfParallelism = threads;
        return true;
    }

    /// <summary>One evaluation-mode Forward from zero states, copied out: the reference every library is checked against.</summary>
    public static CaseOutputs Forward(RecurrentLayer layer, Tensor<float> input)
    {
        var (output, hidden, cell) = ForwardTensors(layer, input);
        return CaseOutputs.From(output, hidden, cell);
    }

    public void Run()
    {
        if (_state is null)
        {
            var (output, hidden, cell) = _buffers;
            switch (_layer)
            {
                case Lstm lstm:
                    lstm.Forward(_input, default, default, output, hidden, cell!, _workspace);
                    break;
                case Gru gru:
                    gru.Forward(_input, default, output, hidden, _workspace);
                    break;
                case Rnn rnn:
                    rnn.Forward(_input, default, output, hidden, _workspace);
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected layer type {_layer.GetType().Name}.");
            }

            return;
        }

        // Zero state, then one Step call per time step: input step t and output step t are views, nothing is copied.
        _state.Reset();
        for (int t = 0; t < _steps; t++)
        {
            var input = new ReadOnlyTensorSpan<float>(_streamInput.AsSpan(t * _inputStepLength, _inputStepLength), _inputStepShape);
            var output = new TensorSpan<float>(_streamOutput.AsSpan(t * _outputStepLength, _outputStepLength), _outputStepShape);
            _layer.Step(input, _state, output);
        }
    }

    public CaseOutputs LastOutputs()
    {
        if (_state is null)
        {
            var (output, hidden, cell) = _buffers;
            return CaseOutputs.From(output, hidden, cell);
        }

        return new CaseOutputs(
            (float[])_streamOutput.Clone(), CaseOutputs.ToArray(_state.Hidden), _state.Cell is null ? null : CaseOutputs.ToArray(_state.Cell));
    }

    public void Dispose()
    {
    }

    private static (Tensor<float> Output, Tensor<float> Hidden, Tensor<float>? Cell) ForwardTensors(RecurrentLayer layer, Tensor<float> input)
    {
        switch (layer)
        {
            case Lstm lstm:
                var (output, (h, c)) = lstm.Forward(input);
                return (output, h, c);
            case Gru gru:
                var (gruOutput, gruHidden) = gru.Forward(input);
                return (gruOutput, gruHidden, null);
            case Rnn rnn:
                var (rnnOutput, rnnHidden) = rnn.Forward(input);
                return (rnnOutput, rnnHidden, null);
            default:
                throw new ArgumentException($"Unexpected layer type {layer.GetType().Name}.", nameof(layer));
        }
    }
}
