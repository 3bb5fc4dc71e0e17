using System.Numerics.Tensors;
using System.Text;
using static Recurrent.Tests.Serialization.SafeTensorsTestFiles;

namespace Recurrent.Tests.Serialization;

public class SafeTensorsTests
{
    private static Tensor<float> Sequence(params nint[] lengths)
    {
        long count = lengths.Aggregate(1L, (a, b) => a * b);
        return Tensor.Create(Enumerable.Range(0, (int)count).Select(i => (i * 0.37f) - 1.5f).ToArray(), lengths);
    }

    private static byte[] SaveToBytes(IEnumerable<KeyValuePair<string, Tensor<float>>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        SafeTensors.Save(stream, tensors, metadata);
        return stream.ToArray();
    }

    [Fact]
    public void RoundTrip_SeveralRanks_KeepsOrderShapesAndBits()
    {
        var state = new StateDict
        {
            { "z.weight_ih_l0", Sequence(8, 3) },
            { "a.bias", Sequence(8) },
            { "m.cube", Sequence(2, 3, 4) },
            { "b.four", Sequence(1, 2, 1, 3) },
            { "special", Tensor.Create([float.NaN, BitConverter.Int32BitsToSingle(0x7FC12345), -0f, float.Epsilon, float.NegativeInfinity, float.MaxValue], [6]) },
        };

        var loaded = LoadEveryWay(SaveToBytes(state), out var metadata);

        AssertBitExact(state, loaded);
        Assert.Empty(metadata);
    }

    [Fact]
    public void RoundTrip_EmptyTensors_KeepTheirShapes()
    {
        var state = new StateDict
        {
            { "before", Sequence(2) },
            { "empty", Tensor.Create(Array.Empty<float>(), [0]) },
            { "empty3d", Tensor.Create(Array.Empty<float>(), [2, 0, 3]) },
            { "after", Sequence(3) },
        };

        AssertBitExact(state, LoadEveryWay(SaveToBytes(state)));
    }

    [Fact]
    public void RoundTrip_NoTensors_GivesEmptyStateDict()
    {
        byte[] bytes = SaveToBytes([]);

        Assert.Equal(Build("{}      "), bytes);
        Assert.Empty(LoadEveryWay(bytes));
    }

    [Fact]
    public void RoundTrip_Metadata_IsReturned()
    {
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\" \\ \n" };

        LoadEveryWay(SaveToBytes(new StateDict { { "w", Sequence(2, 2) } }, metadata), out var loaded);

        Assert.Equal(metadata.OrderBy(p => p.Key), loaded.OrderBy(p => p.Key));
    }

    [Fact]
    public void RoundTrip_ThroughFile_IsBitExact()
    {
        var state = new StateDict { { "w", Sequence(4, 5) }, { "b", Sequence(4) } };
        string path = Path.GetTempFileName();
        try
        {
            SafeTensors.Save(path, state);
            AssertBitExact(state, SafeTensors.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Save_WritesTheReferenceLayout_InTheGivenOrder()
    {
        var tensors = new StateDict { { "w", Tensor.Create([1f, 2f, 3f, 4f, 5f, 6f], [2, 3]) }, { "b", Tensor.Create([-1f], [1]) } };

        byte[] bytes = SaveToBytes(tensors, new Dictionary<string, string> { ["format"] = "pt" });

        // Compact JSON, metadata first, header padded with spaces to a multiple of 8 as the reference writer does;
        // unlike the reference writer (which sorts by dtype, then name) tensors keep the order given.
        const string Json = """{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}}""";
        Assert.Equal(BuildPadded(Json, [.. Floats(1f, 2f, 3f, 4f, 5f, 6f), .. Floats(-1f)]), bytes);
        Assert.Equal(0, BitConverter.ToInt64(bytes, 0) % 8);
    }

    [Fact]
    public void Save_NonDenseTensor_WritesLogicalRowMajorOrder()
    {
        // A transposed view of [[0, 1, 2], [3, 4, 5]]: logically [[0, 3], [1, 4], [2, 5]].
        var transposed = Tensor.Create([0f, 1f, 2f, 3f, 4f, 5f], [3, 2], [1, 3]);
        Assert.False(transposed.IsDense);

        var loaded = LoadEveryWay(SaveToBytes(new StateDict { { "t", transposed } }));

        Assert.Equal([3, 2], loaded["t"].Lengths.ToArray());
        Assert.Equal([0f, 3f, 1f, 4f, 2f, 5f], Values(loaded["t"]));
    }

    [Fact]
    public void Load_FileAsPythonWritesIt_ReturnsTensorsInDataOrder()
    {
        // safetensors.torch.save_file({"weight": ..., "bias": ...}, path, metadata={"format": "pt"}): names sorted, header padded.
        const string Json = """{"__metadata__":{"format":"pt"},"bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}""";
        byte[] bytes = BuildPadded(Json, [.. Floats(0.5f, -0.5f), .. Floats(1f, 2f, 3f, 4f)]);
        Assert.Equal(0, (bytes.Length - 8 - 24) % 8);

        var loaded = LoadEveryWay(bytes, out var metadata);

        Assert.Equal(["bias", "weight"], loaded.Keys);
        Assert.Equal([2, 2], loaded["weight"].Lengths.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], Values(loaded["weight"]));
        Assert.Equal([0.5f, -0.5f], Values(loaded["bias"]));
        Assert.Equal("pt", Assert.Single(metadata).Value);
    }

    [Fact]
    public void Load_HeaderOrderDiffersFromDataOrder_LoadsByDataOrder()
    {
        const string Json = """{"late":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"early":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"gap0":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]}}""";

        var loaded = LoadEveryWay(Build(Json, Floats(1f, 2f, 3f)));

        Assert.Equal(["early", "gap0", "late"], loaded.Keys);
        Assert.Equal([1f, 2f], Values(loaded["early"]));
        Assert.Equal([3f], Values(loaded["late"]));
        Assert.Equal([0, 3], loaded["gap0"].Lengths.ToArray());
    }

    [Fact]
    public void Load_F16_ConvertsExactly()
    {
        // 1.0, -2.0, smallest subnormal 2^-24, largest subnormal (1023 * 2^-24), +inf, -inf, NaN, 0x3555 = 1365/4096.
        byte[] data = UInt16s(0x3C00, 0xC000, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x7E00, 0x3555);
        var loaded = LoadEveryWay(Build("""{"h":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]}}""", data));

        float[] values = Values(loaded["h"]);
        Assert.Equal([1f, -2f, MathF.Pow(2, -24), 1023 * MathF.Pow(2, -24), float.PositiveInfinity, float.NegativeInfinity], values[..6]);
        Assert.True(float.IsNaN(values[6]));
        Assert.Equal(1365f / 4096f, values[7]);
        Assert.Equal([2, 4], loaded["h"].Lengths.ToArray());
    }

    [Fact]
    public void Load_BF16_TakesUpperHalfOfFloat32()
    {
        byte[] data = UInt16s(0x3F80, 0xC040, 0x7F80, 0x0001, 0x3EAB);
        var loaded = LoadEveryWay(Build("""{"b":{"dtype":"BF16","shape":[5],"data_offsets":[0,10]}}""", data));

        // 0x0001 is the float32 bit pattern 0x00010000 = 65536 * 2^-149; 0x3EAB is 0.333984375 (171/512).
        Assert.Equal([1f, -3f, float.PositiveInfinity, 65536 * MathF.Pow(2, -74) * MathF.Pow(2, -75), 171f / 512f], Values(loaded["b"]));
    }

    [Fact]
    public void Load_F64_RoundsToNearestEven()
    {
        // 1/3; 1 + 2^-24 (tie → even 1.0); 1 + 3·2^-24 (tie → even 1 + 2^-22); 1 + 2^-24 + 2^-50 (above tie → 1 + 2^-23); -1e300 → -inf.
        ulong third = 0x3FD5555555555555, tieDown = 0x3FF0000010000000, tieUp = 0x3FF0000030000000, aboveTie = 0x3FF0000010000004;
        byte[] data = UInt64s(third, tieDown, tieUp, aboveTie, 0xFE4FFFFFFFFFFFFF);
        var loaded = LoadEveryWay(Build("""{"d":{"dtype":"F64","shape":[5],"data_offsets":[0,40]}}""", data));

        Assert.Equal([0x3EAAAAAB, 0x3F800000, 0x3F800002, 0x3F800001, unchecked((int)0xFF800000)], Values(loaded["d"]).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Load_IntegersAndBooleans_ConvertAsPyTorchsFloat()
    {
        // Expected values from PyTorch 1.13, tensor.float(): int64 [16777217, 16777219, -3, 2^62 + 2^38 + 1, -2^63] →
        // [16777216, 16777220, -3, 2^62 + 2^39, -2^63]; numpy's uint64 → float32 of [2^64 - 1, 2^63 + 2^39 + 1] →
        // [2^64, 2^63 + 2^40] (one rounding: through double both would round twice, and the last to 2^63); int32
        // [2^31 - 1, -2^31, 16777217] → [2^31, -2^31, 16777216]; bool [True, False] → [1, 0].
        byte[] int64s = UInt64s(16777217, 16777219, unchecked((ulong)-3L), (1UL << 62) + (1UL << 38) + 1, 1UL << 63);
        byte[] uint64s = UInt64s(ulong.MaxValue, (1UL << 63) + (1UL << 39) + 1);
        byte[] int32s = [.. BitConverter.GetBytes(int.MaxValue), .. BitConverter.GetBytes(int.MinValue), .. BitConverter.GetBytes(16777217)];
        byte[] small = [1, 0, 255, 0x80, 0x7F, 0x00, 0x80, 0xFF, 0x7F];
        string header = ("{'bn.num_batches_tracked':{'dtype':'I64','shape':[5],'data_offsets':[0,40]},'u':{'dtype':'U64','shape':[2],'data_offsets':[40,56]}," +
            "'i':{'dtype':'I32','shape':[3],'data_offsets':[56,68]},'b':{'dtype':'BOOL','shape':[2],'data_offsets':[68,70]}," +
            "'u8':{'dtype':'U8','shape':[1],'data_offsets':[70,71]},'i8':{'dtype':'I8','shape':[2],'data_offsets':[71,73]}," +
            "'i16':{'dtype':'I16','shape':[2],'data_offsets':[73,77]}}").Replace('\'', '"');
        var loaded = LoadEveryWay(Build(
            header,
            [.. int64s, .. uint64s, .. int32s, .. small]));

        Assert.Equal([16777216f, 16777220f, -3f, 4611686568183201792f, -9223372036854775808f], Values(loaded["bn.num_batches_tracked"]));
        Assert.Equal([18446744073709551616f, 9223373136366403584f], Values(loaded["u"]));
        Assert.Equal([2147483648f, -2147483648f, 16777216f], Values(loaded["i"]));
        Assert.Equal([1f, 0f], Values(loaded["b"]));
        Assert.Equal([255f], Values(loaded["u8"]));
        Assert.Equal([-128f, 127f], Values(loaded["i8"]));
        Assert.Equal([-32768f, 32767f], Values(loaded["i16"])); // 0x8000 and 0x7FFF, little-endian
    }

    [Fact]
    public void RoundTrip_TensorsLargerThanOneReadChunk_AreBitExact()
    {
        var state = new StateDict { { "small", Sequence(3) }, { "large", Sequence(700, 501) } };

        AssertBitExact(state, LoadEveryWay(SaveToBytes(state)));
    }

    [Fact]
    public void Load_F16LargerThanOneReadChunk_ConvertsEveryBitPattern()
    {
        // Every 16-bit pattern, 9 times over: 1,179,648 bytes, more than one 1 MiB read chunk.
        ushort[] patterns = Enumerable.Range(0, 9 * 65536).Select(i => (ushort)i).ToArray();
        byte[] bytes = Build($$$"""{"h":{"dtype":"F16","shape":[{{{patterns.Length}}}],"data_offsets":[0,{{{2 * patterns.Length}}}]}}""", UInt16s(patterns));

        float[] values = Values(LoadEveryWay(bytes)["h"]);

        Assert.Equal(patterns.Select(p => (float)BitConverter.UInt16BitsToHalf(p)), values);
    }

    [Fact]
    public void Load_Scalar_BecomesRankOneLengthOne()
    {
        var loaded = LoadEveryWay(BuildPadded("""{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""", Floats(7.25f)));

        Assert.Equal(1, loaded["s"].Rank);
        Assert.Equal([1], loaded["s"].Lengths.ToArray());
        Assert.Equal([7.25f], Values(loaded["s"]));
    }

    [Fact]
    public void Load_StreamAtNonZeroPosition_ReadsFromThere()
    {
        byte[] file = SaveToBytes(new StateDict { { "w", Sequence(3) } });
        var stream = new MemoryStream([0xAA, 0xBB, .. file]) { Position = 2 };

        AssertBitExact(new StateDict { { "w", Sequence(3) } }, SafeTensors.Load(stream));
        Assert.Equal(stream.Length, stream.Position);
    }

    [Fact]
    public void PublicMethods_CheckArguments()
    {
        var state = new StateDict { { "w", Sequence(2) } };
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Load((string)null!));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Load((string)null!, out _));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Load((Stream)null!));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Load((Stream)null!, out _));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Save((string)null!, state));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Save((Stream)null!, state));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Save(new MemoryStream(), null!));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Save("x.safetensors", null!));
        Assert.Throws<ArgumentException>(() => SafeTensors.Load(""));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(new MemoryStream([], writable: false), state));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(new MemoryStream(), state, new Dictionary<string, string> { ["k"] = null! }));
    }

    [Fact]
    public void Save_DuplicateOrReservedNames_ThrowAndWriteNothing()
    {
        var stream = new MemoryStream();
        var duplicate = new[] { KeyValuePair.Create("w", Sequence(2)), KeyValuePair.Create("w", Sequence(3)) };
        var reserved = new[] { KeyValuePair.Create("__metadata__", Sequence(2)) };

        Assert.Contains("'w'", Assert.Throws<ArgumentException>(() => SafeTensors.Save(stream, duplicate)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(stream, reserved));
        Assert.Equal(0, stream.Length);
    }

    [Fact]
    public void Load_UnicodeAndEscapedNames_RoundTrip()
    {
        var state = new StateDict { { "ünïcode.名前", Sequence(2) }, { "quote\"back\\slash", Sequence(1) } };

        AssertBitExact(state, LoadEveryWay(SaveToBytes(state)));
        Assert.Contains("ünïcode.名前", Encoding.UTF8.GetString(SaveToBytes(state)), StringComparison.Ordinal);
    }
}
