using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Recurrent.Kernels;

namespace Recurrent.Benchmarks;

/// <summary>C = A·Wᵀ + bias on each kernel path, for the shapes the layers use:
/// m = 1 / 4 (recurrent step at small batch), m = 64 (large batch), m = 1600 (input projection of L·N rows).</summary>
[Config(typeof(GflopsConfig))]
public class GemmBenchmarks
{
    private float[] _a = [];
    private float[] _bias = [];
    private float[] _c = [];
    private PackedMatrix _w = null!;

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; }

    [ParamsAllValues]
    public BenchPath Path { get; set; }

    public static IEnumerable<GemmShape> Shapes =>
    [
        new(1, 256, 1024),
        new(4, 256, 1024),
        new(64, 512, 2048),
        new(1600, 256, 1024),
    ];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        (int m, int k, int n) = (Shape.M, Shape.K, Shape.N);
        _a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        _bias = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] w = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        _w = PackedMatrix.Pack(w, n, k);
        _c = new float[m * n];
    }

    [Benchmark]
    public void Multiply() =>
        Gemm.Multiply((KernelPath)Path, _a, Shape.K, Shape.M, _w, _bias, _c, Shape.N, false, 0, _w.PanelCount);

    /// <summary>Public mirror of the internal <see cref="KernelPath"/> (BenchmarkDotNet parameters must be public).</summary>
    public enum BenchPath
    {
        Scalar = KernelPath.Scalar,
        Vector128 = KernelPath.Vector128,
        Vector256 = KernelPath.Vector256,
        Vector512 = KernelPath.Vector512,
    }

}

/// <summary>An m × k by (n × k)ᵀ product.</summary>
public readonly record struct GemmShape(int M, int K, int N) : IHasFlops
{
    public double Flops => 2.0 * M * K * N;

    public override string ToString() => $"m={M},k={K},n={N}";
}
