namespace Recurrent;

/// <summary>
/// Thrown when bytes given to <see cref="SafeTensors"/> are not a well-formed SafeTensors file, or describe a tensor
/// this library cannot load. The message says what is wrong and where (tensor name, offsets, sizes, input length).
/// </summary>
/// <remarks>A malformed file is an invalid argument, hence the <see cref="ArgumentException"/> base class.</remarks>
public sealed class SafeTensorsFormatException : ArgumentException
{
    /// <summary>Creates the exception with a default message.</summary>
    public SafeTensorsFormatException()
        : base("The input is not a valid SafeTensors file.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public SafeTensorsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public SafeTensorsFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception naming the argument that held the malformed content.</summary>
    internal SafeTensorsFormatException(string message, string paramName, Exception? innerException)
        : base(message, paramName, innerException)
    {
    }

    /// <summary>This error attributed to argument <paramref name="paramName"/> (the file, stream or bytes passed in).</summary>
    internal SafeTensorsFormatException ForArgument(string paramName, string? source = null) =>
        new(source is null ? Message : $"{source}: {Message}", paramName, this);
}
