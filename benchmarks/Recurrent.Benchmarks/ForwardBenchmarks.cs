using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace Recurrent.Benchmarks;

/// <summary>
/// One Forward call of each suite shape, in evaluation mode, seq-first, from zero states: the time a user's call
/// takes, allocation of the returned tensors included. GFLOP/s = <see cref="SuiteShape.Flops"/> / time.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GflopsConfig))]
public class ForwardBenchmarks
{
    private RecurrentLayer _layer = null!;
    private Tensor<float> _input = null!;

    public static IEnumerable<SuiteShape> Shapes => SuiteShape.All;

    [ParamsSource(nameof(Shapes))]
    public SuiteShape Shape { get; set; } = SuiteShape.All[0];

    [GlobalSetup]
    public void Setup()
    {
        _layer = Shape.CreateLayer();
        _input = Shape.CreateInput();
    }

    [Benchmark]
    public Tensor<float> Forward() => _layer switch
    {
        Lstm lstm => lstm.Forward(_input).Output,
        Gru gru => gru.Forward(_input).Output,
        Rnn rnn => rnn.Forward(_input).Output,
        _ => throw new InvalidOperationException(),
    };
}
