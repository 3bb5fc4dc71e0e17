using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace Recurrent.Benchmarks;

/// <summary>
/// No work on padding: a batch whose lengths are spread evenly over 1..L against the same batch at full length.
/// The target is time(lengths) ≤ 1.2 × (Σ lengths / (N·L)) × time(full). Here Σ lengths / (N·L) = (L + 1) / (2L),
/// just over one half, so the lengths rows should take at most ~0.6 of the full-length baseline.
/// </summary>
[MemoryDiagnoser]
public class VariableLengthBenchmarks
{
    private Lstm _lstm = null!;
    private Tensor<float> _input = null!;
    private int[] _lengths = [];
    private int[] _fullLengths = [];
    private PackedSequence _packed = null!;

    [Params(64)]
    public int Batch { get; set; }

    [Params(100)]
    public int Steps { get; set; }

    [Params(256)]
    public int Hidden { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _lstm = new Lstm(Hidden, Hidden, seed: 1).Eval();
        var random = new Random(1);
        var data = new float[Steps * Batch * Hidden];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = random.NextSingle() * 2 - 1;
        }

        _input = Tensor.Create(data, [Steps, Batch, Hidden]);
        _lengths = Enumerable.Range(0, Batch).Select(n => 1 + (int)((long)n * (Steps - 1) / (Batch - 1))).ToArray();
        _fullLengths = Enumerable.Repeat(Steps, Batch).ToArray();
        _packed = RnnUtils.PackPaddedSequence(_input, _lengths, enforceSorted: false);
    }

    /// <summary>The baseline: every sequence at full length L.</summary>
    [Benchmark(Baseline = true)]
    public Tensor<float> FullLength() => _lstm.Forward(_input).Output;

    /// <summary>The padded-with-lengths overload: pack, run, pad back (copies included).</summary>
    [Benchmark]
    public Tensor<float> PaddedWithLengths() => _lstm.Forward(_input, _lengths).Output;

    /// <summary>An already packed batch.</summary>
    [Benchmark]
    public PackedSequence Packed() => _lstm.Forward(_packed).Output;

    /// <summary>Lengths all equal to L through the lengths overload: the cost of packing and unpacking alone.</summary>
    [Benchmark]
    public Tensor<float> AllFullLengths() => _lstm.Forward(_input, _fullLengths).Output;
}
