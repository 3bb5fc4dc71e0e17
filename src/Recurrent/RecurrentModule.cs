using System.Numerics.Tensors;
using Recurrent.Execution;
using Recurrent.Parameters;

namespace Recurrent;

/// <summary>
/// What every layer and cell shares: its configuration, its parameters under PyTorch's names, training/evaluation
/// mode, and state dict save and load.
/// </summary>
/// <remarks>
/// Thread safety: <c>Forward</c> may run on many threads at once. Each call reads one immutable snapshot of the
/// weights; <see cref="LoadStateDict"/> replaces the snapshot in one step, so a concurrent forward sees either the
/// old weights or the new ones, never a mix. Dropout in training mode draws from the module's one random stream,
/// one call at a time.
/// </remarks>
public abstract class RecurrentModule
{
    private readonly ParameterSpec[] _specs;
    private readonly Lock _loadLock = new();
    private volatile ParameterSet _parameters;
    private Random _random;

    private protected RecurrentModule(LayerConfig config, int? seed)
    {
        Config = config;
        _specs = ParameterLayout.For(config);

        // One stream, as torch.manual_seed gives: the initial weights first, then the dropout masks.
        _random = seed is int s ? new Random(s) : new Random();
        _parameters = new ParameterSet(config, _specs, ParameterInitializer.Initialize(_specs, config, _random), WeightFormat.Float32, allowsCopies: true);
    }

    /// <summary>H_in: features of each input step.</summary>
    public int InputSize => Config.InputSize;

    /// <summary>H: features of the hidden state (and of the LSTM cell state).</summary>
    public int HiddenSize => Config.HiddenSize;

    /// <summary>Whether the module has the bias_ih and bias_hh parameters.</summary>
    public bool HasBias => Config.HasBias;

    /// <summary>
    /// True in training mode (the initial mode, as in PyTorch's <c>module.training</c>): dropout between layers is active.
    /// <see cref="RecurrentModuleModes.Train"/> and <see cref="RecurrentModuleModes.Eval"/> set it and return the module.
    /// </summary>
    public bool IsTraining { get; set; } = true;

    /// <summary>
    /// How the kernels store the weights: <see cref="WeightFormat.Float32"/> (the default), or
    /// <see cref="WeightFormat.BFloat16"/>, each weight rounded to bfloat16 and stored in 2 bytes, so that a step reads
    /// half the bytes (batch-1 and streaming speed; the arithmetic stays 32-bit). The parameters keep their float values:
    /// <see cref="StateDict"/> and <see cref="NamedParameters"/> return them,
    /// <see cref="LoadStateDict"/> takes floats and packs them in the current format, and setting Float32 again gives the
    /// float outputs back. Setting a new format
    /// repacks the weights, as a load does (a concurrent forward sees the old packing or the new one).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="Recurrent.WeightFormat"/>.</exception>
    public WeightFormat WeightFormat
    {
        get => _parameters.Format;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(value), value, $"Expected {nameof(WeightFormat)}.{nameof(WeightFormat.Float32)} or {nameof(WeightFormat)}.{nameof(WeightFormat.BFloat16)}.");
            }

            lock (_loadLock)
            {
                if (_parameters.Format != value)
                {
                    _parameters = _parameters.With(Config, value, _parameters.AllowsCopies);
                }
            }
        }
    }

    /// <summary>
    /// Whether the kernels may keep a second copy of a weight matrix in another layout where their products read it
    /// faster (true, the default). Today that is the AVX2 (Vector256) path: a layer run at a batch of 2 or more builds
    /// column vectors of W_hh (and W_hr), up to 16 MiB of each, and of W_ih up to 2 MiB, on its first such forward: 5–15 %
    /// faster for up to twice the weights' memory. False builds none and drops those built (the weights are packed anew,
    /// as setting <see cref="WeightFormat"/> packs them; a concurrent forward finishes on the old packing). The outputs are
    /// the same bits either way.
    /// </summary>
    public bool AllowWeightCopies
    {
        get => _parameters.AllowsCopies;
        set
        {
            lock (_loadLock)
            {
                if (_parameters.AllowsCopies != value)
                {
                    _parameters = _parameters.With(Config, _parameters.Format, value);
                }
            }
        }
    }

    /// <summary>The number of scalar parameters (PyTorch: <c>sum(p.numel() for p in m.parameters())</c>).</summary>
    public long ParameterCount => _specs.Sum(s => (long)s.Length);

    internal LayerConfig Config { get; }

    /// <summary>The current weights. Read once per forward call.</summary>
    internal ParameterSet Parameters => _parameters;

    /// <summary>The PyTorch class this module mirrors, for messages: "LSTM", "GRUCell", ...</summary>
    private protected abstract string TorchName { get; }

    /// <summary>Restarts the random stream that dropout masks are drawn from, so training-mode outputs repeat.</summary>
    public void ManualSeed(int seed) => _random = new Random(seed);

    /// <summary>
    /// A copy of every parameter under PyTorch's name, in PyTorch's order (layers outer, directions inner:
    /// weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, [weight_hr_l0], then the _reverse ones, then l1...).
    /// Changing the returned tensors does not change the module; use <see cref="LoadStateDict"/>.
    /// </summary>
    public StateDict StateDict()
    {
        var result = new StateDict();
        foreach (var (name, tensor) in NamedParameters())
        {
            result.Add(name, tensor);
        }

        return result;
    }

    /// <summary>(name, copy of the value) for every parameter, in the order of <see cref="StateDict"/>.</summary>
    public IEnumerable<KeyValuePair<string, Tensor<float>>> NamedParameters()
    {
        ParameterSet snapshot = _parameters;
        for (int p = 0; p < _specs.Length; p++)
        {
            yield return new(_specs[p].Name, TensorData.Wrap(snapshot.Values(p).ToArray(), _specs[p].Shape));
        }
    }

    /// <summary>
    /// Replaces the parameters with the tensors of <paramref name="stateDict"/> that carry their names (PyTorch's
    /// <c>load_state_dict</c>). The values are copied; the module keeps no reference to the tensors.
    /// </summary>
    /// <param name="stateDict">Name → tensor, e.g. from <c>SafeTensors.Load(path)</c> or another module's <see cref="StateDict"/>.</param>
    /// <param name="strict">When true (the default), a missing or an unexpected name is an error; when false they are skipped and reported.</param>
    /// <returns>The names that were missing or unexpected (both empty after a strict load).</returns>
    /// <exception cref="StateDictMismatchException">
    /// Some tensor's shape differs from its parameter's, or (strict) names are missing or unexpected. The message lists
    /// every one; the module is unchanged.
    /// </exception>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor<float>> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);

        // Names are matched ordinally, whatever comparer the caller's dictionary uses.
        var provided = new Dictionary<string, Tensor<float>>(StringComparer.Ordinal);
        foreach (var (name, tensor) in stateDict)
        {
            provided[name] = tensor;
        }

        var known = new HashSet<string>(_specs.Select(s => s.Name), StringComparer.Ordinal);
        var missing = new List<string>();
        var mismatches = new List<string>();
        foreach (ParameterSpec spec in _specs)
        {
            if (!provided.TryGetValue(spec.Name, out Tensor<float>? tensor))
            {
                missing.Add(spec.Name);
            }
            else if (tensor is null || !TensorData.ShapeEquals(tensor.Lengths, spec.Shape))
            {
                string got = tensor is null ? "null" : TensorData.FormatShape(tensor.Lengths);
                mismatches.Add($"{spec.Name}: expected shape {TensorData.FormatShape(spec.Shape)}, got {got}");
            }
        }

        var unexpected = stateDict.Keys.Where(k => !known.Contains(k)).ToList();
        if (mismatches.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            throw new StateDictMismatchException(TorchName, missing, unexpected, mismatches);
        }

        // One load at a time: a non-strict load keeps the current values of missing names, which must not be a
        // snapshot that a concurrent load is about to replace.
        lock (_loadLock)
        {
            ParameterSet current = _parameters;
            var values = new float[_specs.Length][];
            for (int p = 0; p < _specs.Length; p++)
            {
                values[p] = provided.TryGetValue(_specs[p].Name, out Tensor<float>? tensor)
                    ? TensorData.Copy(tensor)
                    : current.Values(p).ToArray();
            }

            // Packing happens before the swap: readers see the old snapshot or the complete new one.
            _parameters = new ParameterSet(Config, _specs, values, current.Format, current.AllowsCopies);
        }

        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>The dropout stream when this call must apply dropout (training, p > 0, more than one layer), else null.</summary>
    private protected Random? DropoutRandomForCall() =>
        IsTraining && Config.Dropout > 0 && Config.NumLayers > 1 ? _random : null;
}
