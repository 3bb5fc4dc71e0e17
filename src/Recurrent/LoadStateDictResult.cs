namespace Recurrent;

/// <summary>What a non-strict <see cref="RecurrentModule.LoadStateDict"/> skipped (both empty after a strict load).</summary>
/// <param name="MissingKeys">Parameters the state dict did not hold; they kept their values.</param>
/// <param name="UnexpectedKeys">Entries of the state dict that name no parameter; they were ignored.</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
