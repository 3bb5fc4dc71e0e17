using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>
/// An ordered map from parameter name to tensor, the .NET counterpart of the <c>OrderedDict</c> that PyTorch's
/// <c>module.state_dict()</c> returns. Enumeration follows insertion order, which for a module's own state dict is
/// PyTorch's registration order (layers outer, directions inner; <c>weight_ih</c>, <c>weight_hh</c>,
/// <c>bias_ih</c>, <c>bias_hh</c>, <c>weight_hr</c> within each).
/// </summary>
public sealed class StateDict : IReadOnlyDictionary<string, Tensor<float>>
{
    private readonly OrderedDictionary<string, Tensor<float>> _entries = new(StringComparer.Ordinal);

    /// <summary>Creates an empty state dict.</summary>
    public StateDict()
    {
    }

    /// <summary>Creates a state dict holding <paramref name="entries"/> in their enumeration order.</summary>
    /// <exception cref="ArgumentException">Two entries have the same name.</exception>
    public StateDict(IEnumerable<KeyValuePair<string, Tensor<float>>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var (name, tensor) in entries)
        {
            Add(name, tensor);
        }
    }

    /// <summary>The number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>The names, in order.</summary>
    public IEnumerable<string> Keys => _entries.Keys;

    /// <summary>The tensors, in the order of <see cref="Keys"/>.</summary>
    public IEnumerable<Tensor<float>> Values => _entries.Values;

    /// <summary>Gets or replaces the tensor stored under <paramref name="name"/>; setting a new name appends it.</summary>
    public Tensor<float> this[string name]
    {
        get => _entries[name];
        set
        {
            ArgumentNullException.ThrowIfNull(name);
            ArgumentNullException.ThrowIfNull(value);
            _entries[name] = value;
        }
    }

    /// <summary>Appends an entry.</summary>
    /// <exception cref="ArgumentException">An entry named <paramref name="name"/> already exists.</exception>
    public void Add(string name, Tensor<float> tensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_entries.TryAdd(name, tensor))
        {
            throw new ArgumentException($"The state dict already holds an entry named '{name}'.", nameof(name));
        }
    }

    /// <summary>Removes the entry named <paramref name="name"/>; returns whether there was one.</summary>
    public bool Remove(string name) => _entries.Remove(name);

    /// <summary>
    /// The entries whose names start with <paramref name="prefix"/>, with the prefix removed, in order: the state dict
    /// of one submodule of a larger model (PyTorch names a submodule's parameters "encoder.rnn.weight_ih_l0").
    /// </summary>
    public StateDict SelectPrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var result = new StateDict();
        foreach (var (name, tensor) in _entries)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                result.Add(name[prefix.Length..], tensor);
            }
        }

        return result;
    }

    /// <inheritdoc/>
    public bool ContainsKey(string key) => _entries.ContainsKey(key);

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor<float> value) => _entries.TryGetValue(key, out value);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Tensor<float>>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
