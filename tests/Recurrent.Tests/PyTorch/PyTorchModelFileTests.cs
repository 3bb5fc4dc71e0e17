using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.PyTorch;

/// <summary>
/// Files as a PyTorch user writes them: a bare state dict saved like <c>safetensors.torch.save_file</c>, loaded into
/// the matching module, reproduces PyTorch's outputs; F16/BF16/F64 tensors convert to float32 exactly as torch does.
/// </summary>
public class PyTorchModelFileTests
{
    public static TheoryData<string> Models() => new(
        Directory.EnumerateFiles(ReferenceCase.Directory, "model_*.safetensors")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n is not null && !n.EndsWith(".io", StringComparison.Ordinal))
            .Select(n => n!)
            .Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Models))]
    public void SavedStateDict_LoadsIntoMatchingModule_AndReproducesPyTorch(string model)
    {
        StateDict stateDict = SafeTensors.Load(Path.Combine(ReferenceCase.Directory, model + ".safetensors"), out var fileMetadata);
        Assert.Equal("pt", fileMetadata["format"]);
        ReferenceCase io = ReferenceCase.Load(model + ".io");
        RecurrentLayer layer = RecurrentLayer.Create(io.Options()).Eval();

        LoadStateDictResult result = layer.LoadStateDict(stateDict);

        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Tensor<float> input = io["input"]!;
        switch (layer)
        {
            case Lstm lstm:
                var (output, (hn, cn)) = lstm.Forward(input, io["h0"], io["c0"]);
                PyTorchReferenceTests.AssertMatches(io, "output", output);
                PyTorchReferenceTests.AssertMatches(io, "h_n", hn);
                PyTorchReferenceTests.AssertMatches(io, "c_n", cn);
                break;
            case Gru gru:
                var (gruOutput, gruHn) = gru.Forward(input, io["h0"]);
                PyTorchReferenceTests.AssertMatches(io, "output", gruOutput);
                PyTorchReferenceTests.AssertMatches(io, "h_n", gruHn);
                break;
            case Rnn rnn:
                var (rnnOutput, rnnHn) = rnn.Forward(input, io["h0"]);
                PyTorchReferenceTests.AssertMatches(io, "output", rnnOutput);
                PyTorchReferenceTests.AssertMatches(io, "h_n", rnnHn);
                break;
        }
    }

    [Theory]
    [InlineData("x_f64", "expected_from_f64")]
    [InlineData("x_f16", "expected_from_f16")]
    [InlineData("x_bf16", "expected_from_bf16")]
    public void Dtypes_ConvertToFloat32ExactlyAsTorch(string stored, string expected)
    {
        StateDict file = SafeTensors.Load(Path.Combine(ReferenceCase.Directory, "dtypes.safetensors"));
        float[] actual = ToArray(file[stored]);
        float[] torch = ToArray(file[expected]);

        // Bit equality: torch's .to(float32) rounds to nearest even, and so must the loader (±0 and ±inf included).
        Assert.Equal(torch.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(file["x_f32"].Lengths.ToArray(), file[stored].Lengths.ToArray());
    }
}
