using System.Numerics.Tensors;
using static Recurrent.Tests.Serialization.SafeTensorsTestFiles;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Hardening;

/// <summary>
/// Bad input over the whole public API, one row per case: the exact exception type, the argument it names (where the
/// input is an argument of the call), words the message must contain, and the module's weights unchanged afterwards.
/// </summary>
public class BadInputTableTests
{
    private sealed record Case(Func<RecurrentModule?> Module, Action<RecurrentModule?> Call, Type Exception, string? Param, params string[] Message);

    private static readonly Func<RecurrentModule?> NoModule = () => null;

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // Layer forward: shapes and states.
        ["layer input 1-D"] = new(() => new Lstm(10, 5), m => ((Lstm)m!).Forward(Randn(1, 10)), typeof(ArgumentException), "input", "1-D", "(10)"),
        ["layer input 4-D"] = new(() => new Gru(10, 5), m => ((Gru)m!).Forward(Randn(1, 2, 2, 2, 10)), typeof(ArgumentException), "input", "4-D", "(2, 2, 2, 10)"),
        ["layer input features"] = new(() => new Rnn(10, 5), m => ((Rnn)m!).Forward(Randn(1, 3, 2, 9)), typeof(ArgumentException), "input", "expected 10, got 9"),
        ["layer empty sequence"] = new(() => new Lstm(10, 5), m => ((Lstm)m!).Forward(Zeros(0, 2, 10)), typeof(ArgumentException), "input", "non-empty", "(0, 2, 10)"),
        ["layer null input"] = new(() => new Rnn(10, 5), m => ((Rnn)m!).Forward((Tensor<float>)null!), typeof(ArgumentNullException), "input"),
        ["layer h0 shape"] = new(() => new Gru(10, 5, numLayers: 2), m => ((Gru)m!).Forward(Randn(1, 3, 2, 10), Zeros(1, 2, 5)), typeof(ArgumentException), "h0", "(2, 2, 5)", "(1, 2, 5)"),
        ["layer h0 batched vs unbatched"] = new(() => new Rnn(10, 5), m => ((Rnn)m!).Forward(Randn(1, 3, 2, 10), Zeros(1, 5)), typeof(ArgumentException), "h0", "3-D", "2-D"),
        ["layer h0 unbatched vs batched"] = new(() => new Rnn(10, 5), m => ((Rnn)m!).Forward(Randn(1, 3, 10), Zeros(1, 1, 5)), typeof(ArgumentException), "h0", "2-D", "3-D"),
        ["layer c0 shape"] = new(() => new Lstm(10, 5, projSize: 2), m => ((Lstm)m!).Forward(Randn(1, 3, 2, 10), Zeros(1, 2, 2), Zeros(1, 2, 2)), typeof(ArgumentException), "c0", "(1, 2, 5)", "(1, 2, 2)"),
        ["layer h0 without c0"] = new(() => new Lstm(10, 5), m => ((Lstm)m!).Forward(Randn(1, 3, 2, 10), Zeros(1, 2, 5), null), typeof(ArgumentException), "c0", "h0 without c0"),
        ["layer c0 without h0"] = new(() => new Lstm(10, 5), m => ((Lstm)m!).Forward(Randn(1, 3, 2, 10), null, Zeros(1, 2, 5)), typeof(ArgumentException), "h0", "c0 without h0"),
        ["layer null packed"] = new(() => new Gru(10, 5), m => ((Gru)m!).Forward((PackedSequence)null!), typeof(ArgumentNullException), "input"),
        ["layer packed features"] = new(() => new Gru(3, 5), m => ((Gru)m!).Forward(RnnUtils.PackSequence([Zeros(2, 4)])), typeof(ArgumentException), "input", "(Σ lengths, 3)", "(2, 4)"),
        ["layer packed h0 batch"] = new(() => new Rnn(3, 5), m => ((Rnn)m!).Forward(RnnUtils.PackSequence([Zeros(2, 3)]), Zeros(1, 2, 5)), typeof(ArgumentException), "h0", "(1, 1, 5)", "(1, 2, 5)"),
        ["layer lengths count"] = new(() => new Lstm(3, 5), m => ((Lstm)m!).Forward(Randn(1, 4, 2, 3), [4]), typeof(ArgumentException), "lengths", "2", "got 1"),
        ["layer lengths zero"] = new(() => new Gru(3, 5), m => ((Gru)m!).Forward(Randn(1, 4, 2, 3), [4, 0]), typeof(ArgumentException), "lengths", "lengths[1] = 0"),
        ["layer lengths beyond L"] = new(() => new Rnn(3, 5), m => ((Rnn)m!).Forward(Randn(1, 4, 2, 3), [5, 1]), typeof(ArgumentException), "lengths", "lengths[0] = 5", "[1, 4]"),
        ["layer lengths unbatched"] = new(() => new Rnn(3, 5), m => ((Rnn)m!).Forward(Randn(1, 4, 3), [4]), typeof(ArgumentException), "input", "3-D"),

        // Constructors and options.
        ["ctor inputSize zero"] = new(NoModule, _ => new Lstm(0, 5), typeof(ArgumentOutOfRangeException), "inputSize", "got 0"),
        ["ctor hiddenSize negative"] = new(NoModule, _ => new Gru(3, -1), typeof(ArgumentOutOfRangeException), "hiddenSize", "got -1"),
        ["ctor numLayers zero"] = new(NoModule, _ => new Rnn(3, 5, numLayers: 0), typeof(ArgumentOutOfRangeException), "numLayers", "got 0"),
        ["ctor dropout NaN"] = new(NoModule, _ => new Lstm(3, 5, 2, dropout: double.NaN), typeof(ArgumentOutOfRangeException), "dropout", "[0, 1]", "NaN"),
        ["ctor dropout above one"] = new(NoModule, _ => new Gru(3, 5, 2, dropout: 1.5), typeof(ArgumentOutOfRangeException), "dropout", "1.5"),
        ["ctor dropout negative"] = new(NoModule, _ => new Rnn(3, 5, 2, dropout: -0.1), typeof(ArgumentOutOfRangeException), "dropout", "-0.1"),
        ["ctor dropout infinite"] = new(NoModule, _ => new Rnn(3, 5, 2, dropout: double.PositiveInfinity), typeof(ArgumentOutOfRangeException), "dropout", "[0, 1]"),
        ["ctor projSize equals hidden"] = new(NoModule, _ => new Lstm(3, 5, projSize: 5), typeof(ArgumentOutOfRangeException), "projSize", "[0, 5)"),
        ["ctor projSize negative"] = new(NoModule, _ => new Lstm(3, 5, projSize: -2), typeof(ArgumentOutOfRangeException), "projSize", "got -2"),
        ["create projSize on GRU"] = new(NoModule, _ => RecurrentLayer.Create(new() { CellType = CellType.Gru, InputSize = 3, HiddenSize = 5, ProjSize = 1 }), typeof(ArgumentException), "projSize", "only supported for LSTM"),
        ["create relu on LSTM"] = new(NoModule, _ => RecurrentLayer.Create(new() { CellType = CellType.Lstm, InputSize = 3, HiddenSize = 5, Nonlinearity = Nonlinearity.Relu }), typeof(ArgumentException), "nonlinearity", "RNN only"),
        ["create unknown cell type"] = new(NoModule, _ => RecurrentLayer.Create(new() { CellType = (CellType)9, InputSize = 3, HiddenSize = 5 }), typeof(ArgumentOutOfRangeException), "cellType"),
        ["ctor unknown nonlinearity"] = new(NoModule, _ => new Rnn(3, 5, nonlinearity: (Nonlinearity)4), typeof(ArgumentOutOfRangeException), "nonlinearity", "Unknown nonlinearity 4"),
        ["ctor weights beyond an array"] = new(NoModule, _ => new Gru(100_000_000, 10), typeof(ArgumentOutOfRangeException), "inputSize", "exceeds"),
        ["create null options"] = new(NoModule, _ => RecurrentLayer.Create(null!), typeof(ArgumentNullException), "options"),

        // Cells.
        ["cell input 3-D"] = new(() => new RnnCell(3, 5), m => ((RnnCell)m!).Forward(Randn(1, 1, 2, 3)), typeof(ArgumentException), "input", "3-D"),
        ["cell input features"] = new(() => new GruCell(3, 5), m => ((GruCell)m!).Forward(Randn(1, 2, 4)), typeof(ArgumentException), "input", "expected 3, got 4"),
        ["cell hx shape"] = new(() => new GruCell(3, 5), m => ((GruCell)m!).Forward(Randn(1, 2, 3), Zeros(3, 5)), typeof(ArgumentException), "hx", "(2, 5)", "(3, 5)"),
        ["cell h without c"] = new(() => new LstmCell(3, 5), m => ((LstmCell)m!).Forward(Randn(1, 2, 3), Zeros(2, 5), null), typeof(ArgumentException), "c", "h without c"),

        // State dicts.
        ["load missing key"] = new(() => new Rnn(3, 5), m => m!.LoadStateDict(Without(new Rnn(3, 5).StateDict(), "bias_hh_l0")), typeof(StateDictMismatchException), "stateDict", "Missing key(s): \"bias_hh_l0\""),
        ["load unexpected key"] = new(() => new Rnn(3, 5), m => m!.LoadStateDict(With(new Rnn(3, 5).StateDict(), "weight_hr_l0", Zeros(2, 5))), typeof(StateDictMismatchException), "stateDict", "Unexpected key(s): \"weight_hr_l0\""),
        ["load shape mismatch non-strict"] = new(() => new Gru(3, 5), m => m!.LoadStateDict(With(new Gru(3, 5).StateDict(), "weight_hh_l0", Zeros(15, 4)), strict: false), typeof(StateDictMismatchException), "stateDict", "weight_hh_l0: expected shape (15, 5), got (15, 4)"),
        ["load from another kind of layer"] = new(() => new Lstm(3, 5), m => m!.LoadStateDict(new Gru(3, 5).StateDict()), typeof(StateDictMismatchException), "stateDict", "(20, 3)", "(15, 3)"),
        ["load null tensor"] = new(() => new Rnn(3, 5), m => m!.LoadStateDict(new Dictionary<string, Tensor<float>> { ["weight_ih_l0"] = null! }, strict: false), typeof(StateDictMismatchException), "stateDict", "got null"),
        ["load null dict"] = new(() => new Rnn(3, 5), m => m!.LoadStateDict(null!), typeof(ArgumentNullException), "stateDict"),

        // SafeTensors files (the file is the bad argument; the message says what is wrong where).
        ["safetensors shorter than prefix"] = new(NoModule, _ => SafeTensors.Load(new byte[5]), typeof(SafeTensorsFormatException), "data", "shorter than the 8-byte"),
        ["safetensors header past end"] = new(NoModule, _ => SafeTensors.Load([.. Prefix(64), .. "{}"u8]), typeof(SafeTensorsFormatException), "data", "past the end"),
        ["safetensors header not JSON"] = new(NoModule, _ => SafeTensors.Load(Build("{nope}")), typeof(SafeTensorsFormatException), "data", "not valid JSON"),
        ["safetensors offsets outside data"] = new(NoModule, _ => SafeTensors.Load(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", Floats(1))), typeof(SafeTensorsFormatException), "data", "'a'"),
        ["safetensors overlapping tensors"] = new(NoModule, _ => SafeTensors.Load(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", Floats(1, 2, 3))), typeof(SafeTensorsFormatException), "data", "overlap"),
        ["safetensors size not shape"] = new(NoModule, _ => SafeTensors.Load(Build("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", Floats(1, 2))), typeof(SafeTensorsFormatException), "data", "'a'"),
        ["safetensors unknown dtype"] = new(NoModule, _ => SafeTensors.Load(Build("""{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}""", Floats(1))), typeof(SafeTensorsFormatException), "data", "Q7"),
        ["safetensors terabyte claim"] = new(NoModule, _ => SafeTensors.Load(Build("""{"a":{"dtype":"F32","shape":[274877906944],"data_offsets":[0,1099511627776]}}""", Floats(1))), typeof(SafeTensorsFormatException), "data", "1099511627776"),
        ["safetensors null path"] = new(NoModule, _ => SafeTensors.Load((string)null!), typeof(ArgumentNullException), "path"),

        // Streaming.
        ["stream bidirectional"] = new(() => new Lstm(3, 5, bidirectional: true), m => ((Lstm)m!).CreateState(1), typeof(NotSupportedException), null, "bidirectional"),
        ["stream batch zero"] = new(() => new Gru(3, 5), m => ((Gru)m!).CreateState(0), typeof(ArgumentOutOfRangeException), "batchSize"),
        ["stream chunk batch"] = new(() => new Gru(3, 5), m => ((Gru)m!).Step(Randn(1, 2, 3, 3), ((Gru)m!).CreateState(2)), typeof(ArgumentException), "input", "N = 2"),
        ["stream foreign state"] = new(() => new Gru(3, 5), m => ((Gru)m!).Step(Randn(1, 2, 1, 3), new Lstm(3, 5).CreateState(1)), typeof(ArgumentException), "state", "another layer", "of an LSTM: h (1, 1, 5), c (1, 1, 5)", "a GRU: h (1, 1, 5)"),

        // Sequences.
        ["packed increasing batch sizes"] = new(NoModule, _ => new PackedSequence(Zeros(4, 2), [1, 3]), typeof(ArgumentException), "batchSizes", "must not increase"),
        ["packed indices not a permutation"] = new(NoModule, _ => new PackedSequence(Zeros(3, 2), [2, 1], [1, 1]), typeof(ArgumentException), "sortedIndices", "permutation"),
        ["pack unsorted with enforceSorted"] = new(NoModule, _ => RnnUtils.PackPaddedSequence(Zeros(4, 2, 3), [2, 4]), typeof(ArgumentException), "lengths", "enforceSorted: false"),
        ["pad total length short"] = new(NoModule, _ => RnnUtils.PadPackedSequence(RnnUtils.PackSequence([Zeros(4, 1)]), totalLength: 3), typeof(ArgumentOutOfRangeException), "totalLength", "(4)", "got 3"),
        ["pad empty list"] = new(NoModule, _ => RnnUtils.PadSequence([]), typeof(ArgumentException), "sequences", "at least one"),
    };

    public static TheoryData<string> Names() => new(Cases.Keys.Order(StringComparer.Ordinal));

    [Fact]
    public void Table_HasAtLeastFortyCases() => Assert.True(Cases.Count >= 40, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(Names))]
    public void BadInput_ThrowsTheSpecificExceptionAndChangesNothing(string name)
    {
        Case c = Cases[name];
        RecurrentModule? module = c.Module();
        float[][]? before = module?.StateDict().Values.Select(ToArray).ToArray();

        Exception ex = Record.Exception(() => c.Call(module))!;

        Assert.NotNull(ex);
        Assert.Equal(c.Exception, ex.GetType());
        if (c.Param is not null)
        {
            Assert.Equal(c.Param, ((ArgumentException)ex).ParamName);
        }

        foreach (string part in c.Message)
        {
            Assert.Contains(part, ex.Message, StringComparison.Ordinal);
        }

        if (module is not null)
        {
            Assert.Equal(before, module.StateDict().Values.Select(ToArray).ToArray());
        }
    }

    private static StateDict Without(StateDict sd, string name)
    {
        sd.Remove(name);
        return sd;
    }

    private static StateDict With(StateDict sd, string name, Tensor<float> tensor)
    {
        sd[name] = tensor;
        return sd;
    }
}
