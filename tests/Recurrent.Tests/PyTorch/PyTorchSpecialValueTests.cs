using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.PyTorch;

/// <summary>
/// NaN, infinities and huge finite values in inputs, initial states and weights propagate as in PyTorch 1.13
/// (ReferenceData/special, from tests/pytorch/generate_special_values.py): NaN exactly where PyTorch has NaN, each
/// infinity with PyTorch's sign, finite values within atol 1e-5, rtol 1e-4 (<see cref="Tolerance.AssertClose(ReadOnlySpan{float}, ReadOnlySpan{float}, string, double, double)"/>).
/// </summary>
public class PyTorchSpecialValueTests
{
    private const string Folder = "special";

    /// <summary>The generator writes 52; fewer than this means files went missing, and none at all cannot pass.</summary>
    private const int MinimumCases = 40;

    private static IEnumerable<string> Names() =>
        Directory.EnumerateFiles(Path.Combine(ReferenceCase.Directory, Folder), "*.safetensors")
            .Select(f => Folder + "/" + Path.GetFileNameWithoutExtension(f))
            .Order(StringComparer.Ordinal);

    public static TheoryData<string> Cases() => new(Names());

    [Theory]
    [MemberData(nameof(Cases))]
    public void Module_SpecialValueCase_PropagatesAsPyTorch(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        if (c.IsCell)
        {
            PyTorchReferenceTests.RunCell(c);
        }
        else
        {
            PyTorchReferenceTests.RunLayer(c);
        }
    }

    [Fact]
    public void SpecialFolder_HoldsAtLeastFortyCases() =>
        Assert.True(Names().Count() >= MinimumCases, $"ReferenceData/{Folder} holds {Names().Count()} cases, expected at least {MinimumCases}.");

    [Fact]
    public void SpecialCases_CoverEveryModuleAndEveryKindOfSpecialValue()
    {
        var cases = Names().Select(ReferenceCase.Load).ToList();
        string[] kinds = ["RNN tanh", "RNN relu", "GRU", "LSTM", "RNNCell tanh", "RNNCell relu", "GRUCell", "LSTMCell"];
        foreach (string kind in kinds)
        {
            Assert.True(cases.Any(c => Kind(c) == kind), $"no special-value case for {kind}");
        }

        Assert.True(cases.Any(c => c.Module is "GRU" or "LSTM" && c.Metadata["bidirectional"] == "true"), "a bidirectional case");
        Assert.True(cases.Any(c => c.Module is "GRU" or "LSTM" && c.Metadata["num_layers"] == "2"), "a two-layer case");

        foreach (ReferenceCase c in cases)
        {
            // Every case holds at least one special value in what goes in, or it tests nothing special.
            float[] given = c.Tensors.Where(kv => kv.Key.StartsWith("param.", StringComparison.Ordinal) || kv.Key is "input" or "h0" or "c0")
                .SelectMany(kv => ToArray(kv.Value)).ToArray();
            Assert.True(given.Any(v => !float.IsFinite(v) || Math.Abs(v) >= 1e30f), $"{c.Name} holds no NaN, infinity or huge value");
        }

        // And among the expected outputs are NaN, +inf and -inf, and cases with no NaN at all.
        string[] outputs = ["output", "h_n", "c_n", "h_out", "c_out"];
        float[] Expected(ReferenceCase c) => outputs.Where(o => c[o] is not null).SelectMany(o => ToArray(c[o]!)).ToArray();
        Assert.Contains(cases, c => Expected(c).Any(float.IsNaN));
        Assert.Contains(cases, c => Expected(c).Any(float.IsPositiveInfinity));
        Assert.Contains(cases, c => Expected(c).Any(float.IsNegativeInfinity));
        Assert.Contains(cases, c => Expected(c).All(float.IsFinite));
    }

    /// <summary>The comparison the cases rely on rejects a NaN in the wrong place, a flipped infinity and an infinity for a finite value.</summary>
    [Theory]
    [InlineData(float.NaN, 1f)]
    [InlineData(1f, float.NaN)]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity)]
    [InlineData(float.NegativeInfinity, float.PositiveInfinity)]
    [InlineData(float.PositiveInfinity, float.MaxValue)]
    [InlineData(float.MaxValue, float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity, float.NaN)]
    public void Tolerance_SpecialValueMismatch_Fails(float expected, float actual)
    {
        float[] e = [0.5f, expected, -1f], a = [0.5f, actual, -1f];
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Tolerance.AssertClose(e, a, "special"));
    }

    [Fact]
    public void Tolerance_SameSpecialValuesAtSamePositions_Passes()
    {
        float[] expected = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f, 0.25f];
        float[] actual = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f * (1 + 1e-6f), 0.25f + 1e-6f];
        Tolerance.AssertClose(expected, actual, "special");
    }

    private static string Kind(ReferenceCase c) => c.Module is "RNN" or "RNNCell" ? $"{c.Module} {c.Metadata["nonlinearity"]}" : c.Module;
}
