using System.Diagnostics;
using System.Text;
using static Recurrent.Tests.Serialization.SafeTensorsTestFiles;

namespace Recurrent.Tests.Serialization;

public class SafeTensorsMalformedTests
{
    private static string Tensor(string name, string dtype, string shape, long begin, long end) =>
        $$"""
        "{{name}}":{"dtype":"{{dtype}}","shape":{{shape}},"data_offsets":[{{begin}},{{end}}]}
        """;

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void FileShorterThanPrefix_IsRejected(int length) =>
        AssertRejected(new byte[length], "shorter than the 8-byte header-length prefix");

    [Fact]
    public void HeaderLengthPastTheEnd_IsRejected() =>
        AssertRejected([.. Prefix(100), .. Encoding.UTF8.GetBytes("{}")], "runs past the end of the input");

    [Fact]
    public void HeaderLengthTwoToThe62_IsRejected() =>
        AssertRejected([.. Prefix(1UL << 62), .. Encoding.UTF8.GetBytes("{}")], "exceeds the 100000000-byte limit");

    [Fact]
    public void HeaderLengthBelowTwo_IsRejected() =>
        AssertRejected([.. Prefix(1), (byte)'{'], "smallest header");

    [Theory]
    [InlineData("{not json}", "not valid JSON")]
    [InlineData("{\"a\":", "not valid JSON")]
    [InlineData("{} {}", "not valid JSON")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0],}}", "not valid JSON")]
    [InlineData("[1, 2]", "must be a JSON object")]
    [InlineData(" {}", "must be a JSON object")]
    [InlineData("{\"a\":[1]}", "must be a JSON object with dtype, shape and data_offsets")]
    [InlineData("{\"__metadata__\":{\"format\":1}}", "value for key 'format' must be a string")]
    [InlineData("{\"__metadata__\":[\"pt\"]}", "'__metadata__' must be a JSON object")]
    public void HeaderNotTheExpectedJson_IsRejected(string header, string expected) => AssertRejected(Build(header), expected);

    [Fact]
    public void DeeplyNestedJson_IsRejected()
    {
        string nested = new string('[', 64) + new string(']', 64);
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":""" + nested + "}}"), "not valid JSON");
    }

    [Fact]
    public void InvalidUtf8Header_IsRejected() =>
        AssertRejected(BuildRaw([.. "{\"a"u8, 0xFF, .. "\":1}"u8], []), "not valid UTF-8");

    [Theory]
    [InlineData("""{"a":{"shape":[1],"data_offsets":[0,4]}}""", "Tensor 'a' is missing 'dtype'")]
    [InlineData("""{"a":{"dtype":"F32","data_offsets":[0,4]}}""", "Tensor 'a' is missing 'shape'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1]}}""", "Tensor 'a' is missing 'data_offsets'")]
    [InlineData("""{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}""", "'dtype' must be a string")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", "(1.5) is not an integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}""", "must be an array of integers")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", "exactly 2 integers")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", "'data_offsets' entry 0 is negative")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}""", "field 'shape' more than once")]
    public void TensorEntryWithMissingOrMistypedField_IsRejected(string header, string expected) =>
        AssertRejected(Build(header, new byte[4]), expected);

    [Fact]
    public void NegativeShapeEntry_IsRejected() =>
        AssertRejected(Build("{" + Tensor("w", "F32", "[2,-1]", 0, 4) + "}", new byte[4]), "'shape' entry 1 is negative (-1)");

    [Theory]
    [InlineData("F8_E4M3", "dtype 'F8_E4M3', which is not supported")]
    [InlineData("F8_E5M2", "dtype 'F8_E5M2', which is not supported")]
    [InlineData("C64", "dtype 'C64', which is not supported")]
    [InlineData("F128", "unknown dtype 'F128'")]
    [InlineData("f32", "unknown dtype 'f32'")]
    public void UnsupportedOrUnknownDtype_IsRejected(string dtype, string expected) =>
        AssertRejected(Build("{" + Tensor("layer.w", dtype, "[1]", 0, 8) + "}", new byte[8]), "Tensor 'layer.w' has " + expected);

    [Fact]
    public void LoneSurrogateEscapeInAName_IsRejectedAsMalformed() =>
        AssertRejected(Build("""{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "not valid text");

    [Fact]
    public void OffsetsOutsideTheBuffer_AreRejected() =>
        AssertRejected(Build("{" + Tensor("w", "F32", "[2]", 8, 16) + "}", new byte[8]), "past the end of the 8-byte data buffer");

    [Fact]
    public void EndBeforeBegin_IsRejected() =>
        AssertRejected(Build("{" + Tensor("w", "F32", "[1]", 8, 4) + "}", new byte[8]), "end is before its begin");

    [Fact]
    public void OverlappingTensors_AreRejected() =>
        AssertRejected(
            Build("{" + Tensor("a", "F32", "[2]", 0, 8) + "," + Tensor("b", "F32", "[2]", 4, 12) + "}", new byte[12]),
            "Tensor 'b' data [4, 12) overlaps tensor 'a' data [0, 8)");

    [Fact]
    public void HoleBetweenTensors_IsRejected() =>
        AssertRejected(
            Build("{" + Tensor("a", "F32", "[1]", 0, 4) + "," + Tensor("b", "F32", "[1]", 8, 12) + "}", new byte[12]),
            "hole of 4 bytes at [4, 8) before tensor 'b'");

    [Fact]
    public void TrailingBytesAfterLastTensor_AreRejected() =>
        AssertRejected(Build("{" + Tensor("a", "F32", "[1]", 0, 4) + "}", new byte[6]), "the 2 bytes at [4, 6) belong to no tensor");

    [Fact]
    public void ByteCountNotMatchingShapeTimesDtype_IsRejected() =>
        AssertRejected(Build("{" + Tensor("a", "F16", "[2,3]", 0, 8) + "}", new byte[8]), "needs 12 bytes, but its data_offsets [0, 8] span 8 bytes");

    [Fact]
    public void ElementCountOverflowingLong_IsRejected() =>
        AssertRejected(
            Build("{" + Tensor("a", "F32", "[4294967296,4294967296,4]", 0, 4) + "}", new byte[4]),
            "shape [4294967296, 4294967296, 4] whose element count overflows");

    [Fact]
    public void ByteCountOverflowingLong_IsRejected() =>
        AssertRejected(Build("{" + Tensor("a", "F64", "[4611686018427387904]", 0, 8) + "}", new byte[8]), "needs more than 2^63 bytes");

    [Fact]
    public void TruncatedData_IsRejected()
    {
        byte[] complete = BuildPadded("{" + Tensor("a", "F32", "[2]", 0, 8) + "," + Tensor("b", "F32", "[4]", 8, 24) + "}", new byte[24]);
        AssertRejected(complete[..^5], "Tensor 'b' has data_offsets [8, 24] past the end of the 19-byte data buffer");
    }

    [Fact]
    public void DuplicateTensorName_IsRejected() =>
        AssertRejected(Build("{" + Tensor("w", "F32", "[1]", 0, 4) + "," + Tensor("w", "F32", "[1]", 4, 8) + "}", new byte[8]), "names 'w' more than once");

    [Fact]
    public void DuplicateMetadataKey_IsRejected() =>
        AssertRejected(Build("""{"__metadata__":{"k":"1","k":"2"}}"""), "names key 'k' more than once");

    [Fact]
    public void HeaderClaimingTerabytes_IsRejectedWithoutAllocating()
    {
        // 2^38 float32 elements = 1 TiB of claimed data, backed by only 16 real bytes.
        byte[] bytes = Build("{" + Tensor("huge", "F32", "[274877906944]", 0, 1L << 40) + "}", new byte[16]);
        SafeTensors.Load(new MemoryStream(Build("{}"))); // Warm up, so JIT allocations are not counted.
        Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(bytes.AsSpan()));
        Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new MemoryStream(bytes)));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var fromSpan = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(bytes.AsSpan()));
        var fromStream = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new MemoryStream(bytes)));
        var fromNonSeekable = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new NonSeekableStream(bytes)));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Rejected from the header alone: the claimed terabyte is never allocated (nor read). No time bound here: speed
        // is the benchmarks' business, and a noisy machine would make one flaky.
        Assert.True(allocated < 4_000_000, $"Allocated {allocated} bytes.");
        Assert.Contains("data_offsets [0, 1099511627776] past the end of the 16-byte data buffer", fromSpan.Message, StringComparison.Ordinal);
        Assert.Equal(("data", "stream", "stream"), (fromSpan.ParamName, fromStream.ParamName, fromNonSeekable.ParamName));
        Assert.Equal(fromSpan.InnerException!.Message, fromStream.InnerException!.Message);
        Assert.Equal(fromSpan.InnerException!.Message, fromNonSeekable.InnerException!.Message);
    }

    [Fact]
    public void StreamShorterThanItsReportedLength_IsRejected()
    {
        byte[] bytes = Build("{" + Tensor("a", "F32", "[2]", 0, 8) + "}", new byte[8]);
        var lying = new LyingLengthStream(bytes[..^4], bytes.Length);

        var error = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(lying));
        Assert.Contains("ended while reading tensor 'a' data [0, 8)", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A seekable stream whose <see cref="Length"/> claims more bytes than it delivers.</summary>
    private sealed class LyingLengthStream(byte[] content, long claimedLength) : MemoryStream(content)
    {
        public override long Length => claimedLength;
    }
}
