namespace Recurrent;

/// <summary>
/// Thrown by <see cref="RecurrentModule.LoadStateDict"/> when a state dict does not fit the module. Lists every
/// problem at once, as PyTorch's "Error(s) in loading state_dict" does. The module is left unchanged.
/// </summary>
public sealed class StateDictMismatchException : ArgumentException
{
    internal StateDictMismatchException(string moduleName, IReadOnlyList<string> missingKeys, IReadOnlyList<string> unexpectedKeys, IReadOnlyList<string> shapeMismatches)
        : base(BuildMessage(moduleName, missingKeys, unexpectedKeys, shapeMismatches), "stateDict")
    {
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>Parameter names the module has and the state dict lacks (an error only in a strict load).</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Names in the state dict the module has no parameter for (an error only in a strict load).</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>One line per tensor whose shape differs from the parameter's: "name: expected (a, b), got (c, d)".</summary>
    public IReadOnlyList<string> ShapeMismatches { get; }

    private static string BuildMessage(string moduleName, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatches)
    {
        var lines = new List<string> { $"Error(s) in loading state_dict for {moduleName}:" };
        if (missing.Count > 0)
        {
            lines.Add("  Missing key(s): " + string.Join(", ", missing.Select(k => $"\"{k}\"")) + ".");
        }

        if (unexpected.Count > 0)
        {
            lines.Add("  Unexpected key(s): " + string.Join(", ", unexpected.Select(k => $"\"{k}\"")) + ".");
        }

        lines.AddRange(mismatches.Select(m => "  Size mismatch for " + m + "."));
        return string.Join(Environment.NewLine, lines);
    }
}
