using System.Globalization;
using System.Numerics.Tensors;

namespace Recurrent.Tests.PyTorch;

/// <summary>
/// One case written by tests/pytorch/generate_reference.py: a PyTorch module's configuration (file metadata), its
/// state dict (entries "param.NAME"), the inputs it ran on and the outputs PyTorch 1.13 computed.
/// </summary>
internal sealed class ReferenceCase
{
    public static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "ReferenceData");

    private ReferenceCase(string name, StateDict tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Name = name;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Name { get; }

    public StateDict Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public string Module => Metadata["module"];

    public bool IsCell => Module.EndsWith("Cell", StringComparison.Ordinal);

    public Tensor<float>? this[string name] => Tensors.TryGetValue(name, out var t) ? t : null;

    /// <summary>The case files (not the model files or the dtype file), by name without extension.</summary>
    public static IEnumerable<string> CaseNames() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.safetensors")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n is not null && !n.StartsWith("model_", StringComparison.Ordinal) && n != "dtypes")
            .Select(n => n!)
            .Order(StringComparer.Ordinal);

    public static ReferenceCase Load(string name)
    {
        StateDict tensors = SafeTensors.Load(Path.Combine(Directory, name + ".safetensors"), out var metadata);
        return new ReferenceCase(name, tensors, metadata);
    }

    /// <summary>The module's state dict: the "param." entries with the prefix removed.</summary>
    public StateDict Parameters() => new(Tensors
        .Where(kv => kv.Key.StartsWith("param.", StringComparison.Ordinal))
        .Select(kv => KeyValuePair.Create(kv.Key["param.".Length..], kv.Value)));

    public RecurrentLayerOptions Options() => new()
    {
        CellType = Module switch
        {
            "LSTM" or "LSTMCell" => CellType.Lstm,
            "GRU" or "GRUCell" => CellType.Gru,
            "RNN" or "RNNCell" => CellType.Rnn,
            _ => throw new InvalidDataException($"{Name}: unknown module '{Module}'."),
        },
        InputSize = Int("input_size"),
        HiddenSize = Int("hidden_size"),
        NumLayers = Int("num_layers"),
        ProjSize = Int("proj_size"),
        Nonlinearity = Metadata["nonlinearity"] == "relu" ? Nonlinearity.Relu : Nonlinearity.Tanh,
        Bias = Bool("bias"),
        BatchFirst = Bool("batch_first"),
        Bidirectional = Bool("bidirectional"),
        Dropout = double.Parse(Metadata["dropout"], CultureInfo.InvariantCulture),
        Seed = 0,
    };

    public override string ToString() => $"{Name} ({Metadata.GetValueOrDefault("description")})";

    private int Int(string key) => int.Parse(Metadata[key], CultureInfo.InvariantCulture);

    private bool Bool(string key) => Metadata[key] switch
    {
        "true" => true,
        "false" => false,
        var v => throw new InvalidDataException($"{Name}: metadata {key} = '{v}' is not true/false."),
    };
}
