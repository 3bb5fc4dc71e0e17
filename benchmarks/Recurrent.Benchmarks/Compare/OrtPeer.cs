using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Recurrent.Onnx;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// ONNX Runtime, in this process, on the model <see cref="OnnxExport"/> makes from the same layer (so the same weights):
/// CPU, IntraOpNumThreads = threads, InterOpNumThreads = 1, sequential execution, default graph optimisations, no
/// spinning of idle pool threads.
/// Every input and output is an <see cref="OrtValue"/> over our own buffers, created once and reused by every run, so
/// a run is the session's work only.
/// </summary>
/// <remarks>
/// Streaming runs the model exported with initial-state inputs one step per call. The state ping-pongs between two
/// buffer pairs: step t reads h0/c0 from pair t % 2 and writes Y_h/Y_c into the other, so the next step's input is
/// this step's output without a copy.
/// </remarks>
internal sealed class OrtPeer : ILibraryRunner
{
    private readonly List<IDisposable> _owned = [];
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly bool _streaming;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly OrtValue[][] _inputs;   // per call: X (step t or all), [h0, c0]
    private readonly OrtValue[][] _outputs;  // per call: Y (step t or all), Y_h, [Y_c]
    private readonly float[] _output;
    private readonly float[][] _hidden;      // [pair]: state buffers, (D·layers, N, H)
    private readonly float[][] _cell;

    public OrtPeer(RecurrentLayer layer, Tensor<float> input, bool streaming, int threads)
    {
        bool isLstm = layer is Lstm;
        _streaming = streaming;
        int steps = (int)input.Lengths[0], batch = (int)input.Lengths[1];
        int directions = layer.Bidirectional ? 2 : 1, states = directions * layer.NumLayers, hidden = layer.HiddenSize;
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _owned.Add(options);

        // Idle pool threads sleep instead of spinning: on this 2-vCPU machine a spinning thread slows the working one
        // (at 2 threads ORT was up to 2-4x slower with spinning on S1, S5 and ST). No effect at 1 thread (no pool).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _owned.Add(_runOptions);
        _session = new InferenceSession(OnnxExport.ToOnnx(layer, initialStateInputs: streaming), options);
        _owned.Add(_session);

        float[] x = CaseOutputs.ToArray(input);
        _output = new float[steps * batch * directions * hidden];
        _hidden = [new float[states * batch * hidden], new float[states * batch * hidden]];
        _cell = [new float[isLstm ? states * batch * hidden : 0], new float[isLstm ? states * batch * hidden : 0]];
        long[] stateShape = [states, batch, hidden];
        _outputNames = isLstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];
        if (!streaming)
        {
            _inputNames = ["X"];
            _inputs = [[Value(x, [steps, batch, layer.InputSize])]];
            _outputs = [Outputs(Value(_output, [steps, batch, directions * hidden]), pair: 0)];
            return;
        }

        _inputNames = isLstm ? ["X", "h0", "c0"] : ["X", "h0"];
        _inputs = new OrtValue[steps][];
        _outputs = new OrtValue[steps][];
        OrtValue[][] stateValues = [StateValues(0), StateValues(1)];
        int inputWidth = batch * layer.InputSize, outputWidth = batch * hidden;
        for (int t = 0; t < steps; t++)
        {
            OrtValue xt = Value(x.AsMemory(t * inputWidth, inputWidth), [1, batch, layer.InputSize]);
            OrtValue yt = Value(_output.AsMemory(t * outputWidth, outputWidth), [1, batch, hidden]);
            _inputs[t] = [xt, .. stateValues[t % 2]];
            _outputs[t] = [yt, .. stateValues[(t + 1) % 2]];
        }

        OrtValue[] StateValues(int pair) => isLstm
            ? [Value(_hidden[pair], stateShape), Value(_cell[pair], stateShape)]
            : [Value(_hidden[pair], stateShape)];

        OrtValue[] Outputs(OrtValue y, int pair) => [y, .. StateValues(pair)];
    }

    public string Version => OrtEnv.Instance().GetVersionString();

    public void Run()
    {
        if (_streaming)
        {
            // Zero initial state in pair 0, then one call per step.
            Array.Clear(_hidden[0]);
            Array.Clear(_cell[0]);
        }

        for (int call = 0; call < _inputs.Length; call++)
        {
            _session.Run(_runOptions, _inputNames, _inputs[call], _outputNames, _outputs[call]);
        }
    }

    public CaseOutputs LastOutputs()
    {
        // A whole-sequence run writes pair 0; the last of L streamed calls wrote pair L % 2.
        int pair = _streaming ? _inputs.Length % 2 : 0;
        return new CaseOutputs((float[])_output.Clone(), (float[])_hidden[pair].Clone(), _cell[pair].Length == 0 ? null : (float[])_cell[pair].Clone());
    }

    public void Dispose()
    {
        foreach (IDisposable value in Enumerable.Reverse(_owned))
        {
            value.Dispose();
        }
    }

    private OrtValue Value(float[] data, long[] shape) => Value(data.AsMemory(), shape);

    private OrtValue Value(Memory<float> data, long[] shape)
    {
        // The OrtValue pins the memory until it is disposed; the session reads and writes it in place.
        OrtValue value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, shape);
        _owned.Add(value);
        return value;
    }
}
