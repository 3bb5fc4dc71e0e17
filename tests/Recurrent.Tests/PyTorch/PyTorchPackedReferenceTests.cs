using System.Globalization;
using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.PyTorch;

/// <summary>
/// Variable-length batches against PyTorch 1.13 (ReferenceData/packed, from tests/pytorch/generate_reference.py):
/// packing is exact, the packed forward and the padded-with-lengths overload match PyTorch within atol 1e-5, rtol 1e-4,
/// and the torch.nn.utils.rnn helpers reproduce PyTorch's tensors exactly.
/// </summary>
public class PyTorchPackedReferenceTests
{
    private static IEnumerable<string> Names(bool utilities) =>
        Directory.EnumerateFiles(Path.Combine(ReferenceCase.Directory, "packed"), "*.safetensors")
            .Select(f => "packed/" + Path.GetFileNameWithoutExtension(f))
            .Where(n => n.StartsWith("packed/util_", StringComparison.Ordinal) == utilities)
            .Order(StringComparer.Ordinal);

    public static TheoryData<string> ModuleCases() => new(Names(utilities: false));

    public static TheoryData<string> UtilityCases() => new(Names(utilities: true));

    [Theory]
    [MemberData(nameof(ModuleCases))]
    public void PackedForward_PyTorchCase_MatchesPyTorch(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        RecurrentLayerOptions options = c.Options();
        bool enforceSorted = c.Metadata["enforce_sorted"] == "true";
        int[] lengths = Ints(c["lengths"]!);
        RecurrentLayer layer = RecurrentLayer.Create(options).Eval();
        layer.LoadStateDict(c.Parameters());

        PackedSequence packed = RnnUtils.PackPaddedSequence(c["input"]!, lengths, options.BatchFirst, enforceSorted);
        AssertPackedEqual(c, packed, "packed_input_data");

        var (output, hn, cn) = Run(layer, packed, c["h0"], c["c0"]);
        Tolerance.AssertClose(ToArray(c["packed_output_data"]!), ToArray(output.Data), $"{c} packed output");
        PyTorchReferenceTests.AssertMatches(c, "h_n", hn);
        if (cn is not null)
        {
            PyTorchReferenceTests.AssertMatches(c, "c_n", cn);
        }

        var (padded, outputLengths) = RnnUtils.PadPackedSequence(output, options.BatchFirst);
        PyTorchReferenceTests.AssertMatches(c, "output_padded", padded);
        Assert.Equal(Ints(c["output_lengths"]!), outputLengths);
    }

    [Theory]
    [MemberData(nameof(ModuleCases))]
    public void PaddedWithLengths_PyTorchCase_MatchesPyTorchAndIsZeroPastEachLength(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        RecurrentLayerOptions options = c.Options();
        int[] lengths = Ints(c["lengths"]!);
        RecurrentLayer layer = RecurrentLayer.Create(options).Eval();
        layer.LoadStateDict(c.Parameters());
        Tensor<float> input = c["input"]!, h0 = c["h0"]!, c0 = c["c0"]!;
        (Tensor<float> output, Tensor<float> hn) = layer switch
        {
            Lstm lstm => (lstm.Forward(input, lengths, h0, c0).Output, lstm.Forward(input, lengths, h0, c0).State.H),
            Gru gru => gru.Forward(input, lengths, h0),
            Rnn rnn => rnn.Forward(input, lengths, h0),
            _ => throw new InvalidOperationException(),
        };

        // PyTorch pads to the longest length; the overload keeps the input's L, with zeros beyond.
        Tensor<float> expected = c["output_padded"]!;
        int steps = (int)input.Lengths[options.BatchFirst ? 1 : 0], batch = lengths.Length, width = (int)expected.Lengths[2];
        int expectedSteps = lengths.Max();
        float[] expectedData = ToArray(expected), actual = ToArray(output);
        Assert.Equal(input.Lengths[..2].ToArray(), output.Lengths[..2].ToArray());
        for (int t = 0; t < steps; t++)
        {
            for (int n = 0; n < batch; n++)
            {
                int actualRow = options.BatchFirst ? n * steps + t : t * batch + n;
                var got = actual.AsSpan(actualRow * width, width);
                if (t < expectedSteps)
                {
                    int expectedRow = options.BatchFirst ? n * expectedSteps + t : t * batch + n;
                    Tolerance.AssertClose(expectedData.AsSpan(expectedRow * width, width), got, $"{c} t={t} n={n}");
                }
                else
                {
                    Assert.All(got.ToArray(), v => Assert.Equal(0f, v));
                }
            }
        }

        PyTorchReferenceTests.AssertMatches(c, "h_n", hn);
    }

    [Theory]
    [MemberData(nameof(UtilityCases))]
    public void Utility_PyTorchCase_ReproducesTorchExactly(string name)
    {
        ReferenceCase c = ReferenceCase.Load(name);
        IReadOnlyDictionary<string, string> m = c.Metadata;
        switch (m["kind"])
        {
            case "pad_sequence":
            {
                Tensor<float> padded = RnnUtils.PadSequence(Sequences(c), m["batch_first"] == "true", Float(m["padding_value"]));
                AssertExactly(c, "padded", padded);
                break;
            }

            case "pack_sequence":
            {
                PackedSequence packed = RnnUtils.PackSequence(Sequences(c), m["enforce_sorted"] == "true");
                AssertPackedEqual(c, packed, "data");
                break;
            }

            default:
            {
                var packed = new PackedSequence(
                    c["packed_data"]!, Ints(c["batch_sizes"]!), c["sorted_indices"] is { } s ? Ints(s) : null,
                    c["unsorted_indices"] is { } u ? Ints(u) : null);
                int? totalLength = m["total_length"] == "none" ? null : int.Parse(m["total_length"], CultureInfo.InvariantCulture);
                var (padded, lengths) = RnnUtils.PadPackedSequence(packed, m["batch_first"] == "true", Float(m["padding_value"]), totalLength);
                AssertExactly(c, "padded", padded);
                Assert.Equal(Ints(c["lengths"]!), lengths);
                break;
            }
        }
    }

    private static (PackedSequence Output, Tensor<float> Hidden, Tensor<float>? Cell) Run(RecurrentLayer layer, PackedSequence input, Tensor<float>? h0, Tensor<float>? c0)
    {
        switch (layer)
        {
            case Lstm lstm:
                var (output, (h, c)) = lstm.Forward(input, h0, c0);
                return (output, h, c);
            case Gru gru:
                var (gruOutput, gruHidden) = gru.Forward(input, h0);
                return (gruOutput, gruHidden, null);
            case Rnn rnn:
                var (rnnOutput, rnnHidden) = rnn.Forward(input, h0);
                return (rnnOutput, rnnHidden, null);
            default:
                throw new InvalidOperationException();
        }
    }

    /// <summary>Packing only moves values: data, batch sizes and permutation equal PyTorch's exactly.</summary>
    private static void AssertPackedEqual(ReferenceCase c, PackedSequence packed, string dataName)
    {
        AssertExactly(c, dataName, packed.Data);
        Assert.Equal(Ints(c["batch_sizes"]!), packed.BatchSizes);
        Assert.Equal(c["sorted_indices"] is { } s ? Ints(s) : null, packed.SortedIndices);
        Assert.Equal(c["unsorted_indices"] is { } u ? Ints(u) : null, packed.UnsortedIndices);
    }

    private static void AssertExactly(ReferenceCase c, string name, Tensor<float> actual)
    {
        Tensor<float> expected = c[name]!;
        Assert.Equal(expected.Lengths.ToArray(), actual.Lengths.ToArray());
        Assert.True(ToArray(expected).SequenceEqual(ToArray(actual)), $"{c}: {name} differs from PyTorch's");
    }

    private static List<Tensor<float>> Sequences(ReferenceCase c)
    {
        var sequences = new List<Tensor<float>>();
        for (int i = 0; c[$"seq.{i}"] is { } s; i++)
        {
            sequences.Add(s);
        }

        return sequences;
    }

    private static int[] Ints(Tensor<float> t) => ToArray(t).Select(v => checked((int)v)).ToArray();

    private static float Float(string value) => float.Parse(value, CultureInfo.InvariantCulture);
}
