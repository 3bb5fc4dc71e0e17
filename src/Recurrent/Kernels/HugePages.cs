using System.Globalization;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels;

/// <summary>
/// Pinned float arrays for large packed weights whose data starts on a transparent-huge-page boundary and is advised
/// into huge pages (Linux <c>madvise</c>), so a product streaming a weight matrix of several MiB walks 2 MiB pages
/// instead of 4 KiB ones: fewer TLB misses, and the hardware prefetcher, which stops at a page boundary, runs on.
/// Measured on the Zen 5 CI machine (GEMM alone, 1 thread, small pages → huge pages): on one host (2026-12-01, with
/// THP set to "always") 64 × 1024 × 4096 (W 16 MiB) 160–167 → 194–197 GFLOP/s, 64 × 1760 × 1760 172–180 → 194–196,
/// 3200 × 1760 × 1760 174–184 → 193; on another (2026-12-02, this class, THP "never" against "madvise", three runs
/// each), where small pages already ran at 192–213, no difference beyond the noise, in the GEMM or in the layers.
/// </summary>
/// <remarks>
/// <para>
/// Invariant: an array from <see cref="Allocate"/> holds the requested floats from the returned offset on, zeroed, and
/// that element lies on a 64-byte boundary (as <see cref="AlignedFloats.Allocate"/> promises) and, when huge pages are
/// used, on a <see cref="PageBytes"/> boundary too. The array is pinned, so the boundaries hold for its lifetime.
/// </para>
/// <para>
/// This is a system call, not a native dependency: <c>madvise</c> is looked up in the C library the process already
/// has loaded. Huge pages are used only when the data spans at least one whole huge page, on Linux, where the kernel
/// offers transparent huge pages (<c>/sys/kernel/mm/transparent_hugepage/enabled</c> is not "never") and
/// <c>madvise</c> is found; otherwise, or when a call fails, the array is an ordinary 64-byte-aligned one. The cost is
/// up to one huge page of address space before the data, which is never touched and so takes no memory (the GC does
/// count it in its heap size); the collapse, where it has pages to move, a copy of them while the weights are packed;
/// and the advice outlives the array, so memory the GC later places there may be backed by huge pages too.
/// </para>
/// </remarks>
internal static unsafe class HugePages
{
    /// <summary><c>MADV_HUGEPAGE</c>: back the range with huge pages as it is first touched.</summary>
    private const int AdviseHugePage = 14;

    /// <summary><c>MADV_COLLAPSE</c> (Linux 6.1 on): move pages the range already has onto huge pages now.</summary>
    private const int AdviseCollapse = 25;

    /// <summary>The largest huge page used: larger ones (512 MiB on arm64 with 64 KiB base pages) would cost more
    /// memory than a weight matrix saves.</summary>
    private const int LargestPageBytes = 2 << 20;

    /// <summary><c>int madvise(void* addr, size_t length, int advice)</c>; null exactly when <see cref="PageBytes"/> is 0.</summary>
    private static readonly delegate* unmanaged<nint, nuint, int, int> s_madvise;

    static HugePages()
    {
        s_madvise = FindMadvise(out int pageBytes);
        PageBytes = pageBytes;
    }

    /// <summary>The transparent huge page size in bytes (2 MiB on x64), or 0 when huge pages are not used here.</summary>
    internal static int PageBytes { get; }

    /// <summary>
    /// A pinned array holding <paramref name="length"/> zeroed floats from <c>Offset</c> on, element <c>Offset</c> on a
    /// 64-byte boundary, and on a huge page boundary, advised into huge pages, when the floats span one huge page or
    /// more and huge pages are available (see the type's remarks).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The length with its slack exceeds the largest array.</exception>
    public static (float[] Storage, int Offset) Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int pageFloats = PageBytes / sizeof(float);
        if (pageFloats == 0 || length < pageFloats || length > Array.MaxLength - pageFloats)
        {
            return AlignedFloats.Allocate(length);
        }

        // Uninitialised: zeroing here would touch the pages before the advice and so fault them in as small ones.
        float[] storage = GC.AllocateUninitializedArray<float>(length + pageFloats - 1, pinned: true);
        nint address = Marshal.UnsafeAddrOfPinnedArrayElement(storage, 0);
        int offset = (int)((PageBytes - (address & (PageBytes - 1))) & (PageBytes - 1)) / sizeof(float);
        nint start = address + (offset * sizeof(float));
        nuint wholePages = (nuint)((long)length * sizeof(float) / PageBytes * PageBytes);

        // The whole pages only: advising the partial last one would back all of it on first touch. Failure is harmless
        // (the range stays on small pages), so the results are not checked.
        _ = s_madvise(start, wholePages, AdviseHugePage);
        storage.AsSpan(offset, length).Clear();

        // Pages the array had before the advice (memory the GC reused) are still small; collapse them.
        _ = s_madvise(start, wholePages, AdviseCollapse);
        return (storage, offset);
    }

    private static delegate* unmanaged<nint, nuint, int, int> FindMadvise(out int pageBytes)
    {
        pageBytes = 0;
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            const string settings = "/sys/kernel/mm/transparent_hugepage/";
            if (File.ReadAllText(settings + "enabled").Contains("[never]", StringComparison.Ordinal)
                || !int.TryParse(File.ReadAllText(settings + "hpage_pmd_size").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int size)
                || size < AlignedFloats.AlignmentBytes || size > LargestPageBytes || (size & (size - 1)) != 0)
            {
                return null;
            }

            // The C library is loaded in every process; its exports are found through the main program's handle, and
            // by name where that lookup is not supported.
            if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "madvise", out nint export)
                && !(NativeLibrary.TryLoad("libc.so.6", out nint libc) && NativeLibrary.TryGetExport(libc, "madvise", out export)))
            {
                return null;
            }

            pageBytes = size;
            return (delegate* unmanaged<nint, nuint, int, int>)export;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No settings to read (a container without /sys, an old kernel): small pages.
            return null;
        }
    }
}
