using System.Numerics.Tensors;

namespace Recurrent;

/// <summary>
/// Reads and writes the <see href="https://github.com/huggingface/safetensors">SafeTensors</see> format, so that
/// weights saved in PyTorch with <c>safetensors.torch.save_file(model.state_dict(), path)</c> load with
/// <c>layer.LoadStateDict(SafeTensors.Load(path))</c>, and files written here load in Python.
/// </summary>
/// <remarks>
/// <para>Loading accepts F32 as is and converts F16, BF16 (exactly), F64 (round to nearest), BOOL (0 or 1) and the
/// 8- to 64-bit integers (exactly up to 2^24, else round to nearest), as PyTorch's <c>tensor.float()</c> does, so that a
/// larger model's file with integer buffers loads and a prefix can then select the layer; the 4-, 6- and 8-bit floats
/// and complex are rejected. Entries are returned in the order their data appear in the file, not header order.
/// A scalar (shape <c>[]</c>) loads as a rank-1 tensor of length 1, because <c>Tensor&lt;float&gt;</c> has no
/// rank-0 form; a tensor with a 0 in its shape loads as an empty tensor of that shape.</para>
/// <para>The header is validated in full against the real input length before any tensor is allocated, with the
/// reference implementation's rules: header at most 100,000,000 bytes, unique names, sizes consistent with shape
/// and dtype, and tensor data covering the data buffer exactly with no overlap or hole. Every violation throws
/// <see cref="SafeTensorsFormatException"/>.</para>
/// <para>Saving writes F32 only, in the given order, with the header padded with spaces to a multiple of 8 bytes
/// as the reference writer does.</para>
/// </remarks>
public static class SafeTensors
{
    /// <summary>Loads the tensors of the SafeTensors file at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is malformed or holds a dtype that cannot be loaded.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The path is a directory, or the file may not be read.</exception>
    public static StateDict Load(string path) => Load(path, out _);

    /// <summary>Loads the tensors and the <c>__metadata__</c> map of the SafeTensors file at <paramref name="path"/>.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="metadata">The <c>__metadata__</c> string map, empty when the file has none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is malformed or holds a dtype that cannot be loaded.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The path is a directory, or the file may not be read.</exception>
    public static StateDict Load(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.Read,
            Options = FileOptions.SequentialScan,
        });
        try
        {
            return SafeTensorsReader.ReadSeekable(file, out metadata);
        }
        catch (SafeTensorsFormatException ex) when (ex.ParamName is null)
        {
            throw ex.ForArgument(nameof(path), path);
        }
    }

    /// <summary>Loads the tensors from <paramref name="stream"/>, read from its current position to its end.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot be read.</exception>
    /// <exception cref="SafeTensorsFormatException">The content is malformed or holds a dtype that cannot be loaded.</exception>
    public static StateDict Load(Stream stream) => Load(stream, out _);

    /// <summary>
    /// Loads the tensors and the <c>__metadata__</c> map from <paramref name="stream"/>, read from its current
    /// position to its end. A seekable stream is validated against its length and read tensor by tensor; a
    /// non-seekable one is first copied into memory (at most 2 GB). The stream is left open.
    /// </summary>
    /// <param name="stream">The stream to read.</param>
    /// <param name="metadata">The <c>__metadata__</c> string map, empty when the input has none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot be read.</exception>
    /// <exception cref="SafeTensorsFormatException">The content is malformed or holds a dtype that cannot be loaded.</exception>
    public static StateDict Load(Stream stream, out IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream must be readable.", nameof(stream));
        }

        try
        {
            return stream.CanSeek
                ? SafeTensorsReader.ReadSeekable(stream, out metadata)
                : SafeTensorsReader.ReadNonSeekable(stream, out metadata);
        }
        catch (SafeTensorsFormatException ex) when (ex.ParamName is null)
        {
            throw ex.ForArgument(nameof(stream));
        }
    }

    /// <summary>Loads the tensors from the SafeTensors bytes <paramref name="data"/>.</summary>
    /// <exception cref="SafeTensorsFormatException">The data is malformed or holds a dtype that cannot be loaded.</exception>
    public static StateDict Load(ReadOnlySpan<byte> data) => Load(data, out _);

    /// <summary>Loads the tensors and the <c>__metadata__</c> map from the SafeTensors bytes <paramref name="data"/>.</summary>
    /// <param name="data">A whole SafeTensors file.</param>
    /// <param name="metadata">The <c>__metadata__</c> string map, empty when the input has none.</param>
    /// <exception cref="SafeTensorsFormatException">The data is malformed or holds a dtype that cannot be loaded.</exception>
    public static StateDict Load(ReadOnlySpan<byte> data, out IReadOnlyDictionary<string, string> metadata)
    {
        try
        {
            return SafeTensorsReader.Read(data, out metadata);
        }
        catch (SafeTensorsFormatException ex) when (ex.ParamName is null)
        {
            throw ex.ForArgument(nameof(data));
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as F32, in enumeration order, to a new file at <paramref name="path"/>
    /// (replacing any existing file), with <paramref name="metadata"/> as <c>__metadata__</c> when non-empty.
    /// Arguments are checked before the file is created.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">Names and tensors, for example a <see cref="StateDict"/>; non-dense tensors are written in logical row-major order.</param>
    /// <param name="metadata">Optional string map stored under <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="tensors"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, a name or tensor is null, two tensors share
    /// a name, a tensor is named <c>__metadata__</c>, or a metadata key or value is null.</exception>
    public static void Save(
        string path, IEnumerable<KeyValuePair<string, Tensor<float>>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = SafeTensorsWriter.Snapshot(tensors);
        SafeTensorsWriter.CheckMetadata(metadata);
        byte[] header = SafeTensorsWriter.BuildHeader(list, metadata);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        SafeTensorsWriter.Write(file, header, list);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as F32, in enumeration order, to <paramref name="stream"/> at its current
    /// position, with <paramref name="metadata"/> as <c>__metadata__</c> when non-empty. The stream is left open.
    /// </summary>
    /// <param name="stream">The stream to write.</param>
    /// <param name="tensors">Names and tensors, for example a <see cref="StateDict"/>; non-dense tensors are written in logical row-major order.</param>
    /// <param name="metadata">Optional string map stored under <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> or <paramref name="tensors"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot be written, a name or tensor is null, two
    /// tensors share a name, a tensor is named <c>__metadata__</c>, or a metadata key or value is null.</exception>
    public static void Save(
        Stream stream, IEnumerable<KeyValuePair<string, Tensor<float>>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The stream must be writable.", nameof(stream));
        }

        var list = SafeTensorsWriter.Snapshot(tensors);
        SafeTensorsWriter.CheckMetadata(metadata);
        SafeTensorsWriter.Write(stream, SafeTensorsWriter.BuildHeader(list, metadata), list);
    }
}
