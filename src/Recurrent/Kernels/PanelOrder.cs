namespace Recurrent.Kernels;

/// <summary>
/// The order in which a small-m product (one that runs on the row kernel) streams its panels of W. It never changes
/// the result: every output column is computed by the same chain whatever the order (see <see cref="Gemm"/>).
/// </summary>
/// <remarks>
/// Why it exists: at batch 1 each step streams all of W_hh, and when W_hh is larger than what L2 keeps (here a
/// 1.25 MiB L2 against 1–4 MiB of weights), reading it front to back every step evicts each line before the next
/// step needs it again. Alternating the order each step makes the lines read last, which are still cached, the
/// first ones the next step reads.
/// </remarks>
internal enum PanelOrder
{
    /// <summary>Panels in increasing index.</summary>
    Ascending,

    /// <summary>Panels in decreasing index.</summary>
    Descending,
}
