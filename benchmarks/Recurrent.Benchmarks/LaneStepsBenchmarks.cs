using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Recurrent.Execution;

namespace Recurrent.Benchmarks;

/// <summary>
/// The tutorial shapes (T1, T2) with their time loop in lanes (the default where Vector512 is accelerated) and forced
/// row-major: what the lane steps are worth. One Forward into buffers created once, with a <see cref="ForwardWorkspace"/>
/// sized in the setup (the choice is made when a workspace is created). Run with
/// <c>dotnet run -c Release --project benchmarks/Recurrent.Benchmarks -- --filter '*LaneStepsBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GflopsConfig))]
public class LaneStepsBenchmarks
{
    private RecurrentLayer _layer = null!;
    private Tensor<float> _input = null!, _output = null!, _hidden = null!, _cell = null!;
    private ForwardWorkspace _workspace = null!;

    public static IEnumerable<SuiteShape> Shapes => SuiteShape.All.Where(shape => shape.Id is "T1" or "T2");

    [ParamsSource(nameof(Shapes))]
    public SuiteShape Shape { get; set; } = SuiteShape.All[0];

    /// <summary>True: the time loop in lanes; false: row-major (input product, recurrent products, gate math by rows).</summary>
    [Params(true, false)]
    public bool Lanes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _layer = Shape.CreateLayer();
        _input = Shape.CreateInput();
        int directions = Shape.Bidirectional ? 2 : 1;
        _output = Tensor.CreateFromShape<float>([Shape.Steps, Shape.Batch, directions * Shape.HiddenSize]);
        _hidden = Tensor.CreateFromShape<float>([directions * Shape.Layers, Shape.Batch, Shape.HiddenSize]);
        _cell = Tensor.CreateFromShape<float>([directions * Shape.Layers, Shape.Batch, Shape.HiddenSize]);
        _workspace = new ForwardWorkspace();
        DirectionPass.LanesOverride = Lanes;
        try
        {
            Forward();
        }
        finally
        {
            DirectionPass.LanesOverride = null;
        }
    }

    [Benchmark]
    public void Forward()
    {
        switch (_layer)
        {
            case Lstm lstm:
                lstm.Forward(_input, default, default, _output, _hidden, _cell, _workspace);
                break;
            case Rnn rnn:
                rnn.Forward(_input, default, _output, _hidden, _workspace);
                break;
            default:
                throw new InvalidOperationException($"{Shape.Id} is not an RNN or LSTM.");
        }
    }
}
