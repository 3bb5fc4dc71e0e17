namespace Recurrent.Tests.PyTorch;

/// <summary>
/// <see cref="WeightFormat.BFloat16"/> against PyTorch 1.13 (ReferenceData/bfloat16, from
/// tests/pytorch/generate_bfloat16.py): each case's file holds the module's float state dict and the outputs PyTorch
/// computed after rounding its weights with <c>w.bfloat16().float()</c>; the module loads the floats, takes the format,
/// and must match within the reference tolerance, while the same module in Float32 must not.
/// </summary>
public class WeightFormatReferenceTests
{
    private const string Folder = "bfloat16";

    /// <summary>The generator writes 7 cases; fewer means files went missing.</summary>
    private const int MinimumCases = 7;

    private static IEnumerable<string> Names() =>
        Directory.EnumerateFiles(Path.Combine(ReferenceCase.Directory, Folder), "*.safetensors")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n != "rounding")
            .Select(n => Folder + "/" + n)
            .Order(StringComparer.Ordinal);

    public static TheoryData<string> Cases() => new(Names());

    [Theory]
    [MemberData(nameof(Cases))]
    public void BFloat16_MatchesPyTorchWithRoundedWeights(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        if (c.IsCell)
        {
            PyTorchReferenceTests.RunCell(c, WeightFormat.BFloat16);
        }
        else
        {
            PyTorchReferenceTests.RunLayer(c, WeightFormat.BFloat16);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32_DoesNotMatch_SoTheCaseTellsTheFormatsApart(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() =>
        {
            if (c.IsCell)
            {
                PyTorchReferenceTests.RunCell(c);
            }
            else
            {
                PyTorchReferenceTests.RunLayer(c);
            }
        });
    }

    [Fact]
    public void ReferenceData_HasTheCases()
    {
        List<string> names = [.. Names()];
        Assert.True(names.Count >= MinimumCases, $"{names.Count} bfloat16 cases");
        Assert.Contains(names, n => ReferenceCase.Load(n).IsCell);
        Assert.Contains(names, n => ReferenceCase.Load(n).Metadata["proj_size"] != "0");
    }
}
