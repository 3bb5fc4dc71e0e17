using System.Globalization;
using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// <see cref="HugePages"/>: large packed weights start on a huge page boundary and carry the kernel's huge page advice
/// where the machine offers transparent huge pages; otherwise, and for small sizes, they are ordinary 64-byte-aligned
/// arrays. The expectations are read from the kernel's settings and the process's own memory map, not from the class.
/// </summary>
public class HugePagesTests
{
    private const string Settings = "/sys/kernel/mm/transparent_hugepage/";

    /// <summary>The huge page size this machine should use: what the kernel reports, where it offers them.</summary>
    private static int ExpectedPageBytes()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(Settings + "enabled") || !File.Exists(Settings + "hpage_pmd_size")
            || File.ReadAllText(Settings + "enabled").Contains("[never]", StringComparison.Ordinal))
        {
            return 0;
        }

        int size = int.Parse(File.ReadAllText(Settings + "hpage_pmd_size").Trim(), CultureInfo.InvariantCulture);
        return size <= 2 << 20 ? size : 0;
    }

    /// <summary>The VmFlags of the mapping holding <paramref name="address"/> (Linux /proc/self/smaps).</summary>
    private static string[] MappingFlags(nint address)
    {
        bool inMapping = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-', StringComparison.Ordinal);
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end))
            {
                inMapping = start <= (ulong)address && (ulong)address < end;
            }
            else if (inMapping && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        throw new InvalidOperationException($"No mapping holds 0x{address:x}.");
    }

    [Fact]
    public void PageBytes_IsWhatTheKernelOffers()
    {
        Assert.Equal(ExpectedPageBytes(), HugePages.PageBytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData((1 << 19) - 1)] // one float short of a 2 MiB page
    public void Allocate_LessThanAPage_IsAnOrdinaryAlignedZeroedArray(int length)
    {
        var (storage, offset) = HugePages.Allocate(length);

        Assert.True(offset + length <= storage.Length);
        Assert.Equal(0, System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(storage, offset) % AlignedFloats.AlignmentBytes);
        Assert.True(storage.Length - length < AlignedFloats.AlignmentBytes / sizeof(float), "no huge page slack");
        Assert.True(storage.AsSpan(offset, length).IndexOfAnyExcept(0f) < 0);
    }

    [Theory]
    [InlineData(1 << 19)] // exactly one 2 MiB page
    [InlineData((5 << 19) + 123)] // five and a part
    public void Allocate_APageOrMore_StartsOnAHugePage(int length)
    {
        int pageBytes = ExpectedPageBytes();
        var (storage, offset) = HugePages.Allocate(length);
        nint start = System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(storage, offset);

        Assert.True(offset + length <= storage.Length);
        Assert.True(storage.AsSpan(offset, length).IndexOfAnyExcept(0f) < 0, "zeroed");
        Assert.Equal(0, start % (pageBytes > 0 ? pageBytes : AlignedFloats.AlignmentBytes));
    }

    /// <summary>The kernel holds the advice for the whole pages, from the first to the last. Reads the memory map as the
    /// host kernel keeps it, so the emulated Arm64 run (tests/arm64, where qemu-user does not pass the advice on) leaves
    /// it out by its trait.</summary>
    [Theory]
    [Trait("Observes", "HostKernel")]
    [InlineData(1 << 19)]
    [InlineData((5 << 19) + 123)]
    public void Allocate_APageOrMore_CarriesTheHugePageAdvice(int length)
    {
        int pageBytes = ExpectedPageBytes();
        var (storage, offset) = HugePages.Allocate(length);
        nint start = System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(storage, offset);
        if (pageBytes > 0)
        {
            Assert.Contains("hg", MappingFlags(start)); // MADV_HUGEPAGE took effect on the data's first page
            Assert.Contains("hg", MappingFlags(start + (length / (pageBytes / sizeof(float)) * pageBytes) - 1));
        }
        else
        {
            Assert.Equal(0, HugePages.PageBytes); // no huge pages here: nothing was advised
        }
    }

    [Fact]
    public void Allocate_APageOrMore_IsZeroed_WhenItReusesMemoryAnotherArrayDirtied()
    {
        // The array is allocated uninitialised (so that its pages are first touched after the huge page advice) and
        // zeroed by Allocate: fill and release each one, and the next, which the pinned heap may place on the same
        // memory, must still read zero.
        const int length = (3 << 19) + 77;
        for (int round = 0; round < 6; round++)
        {
            var (storage, offset) = HugePages.Allocate(length);
            Assert.True(storage.AsSpan(offset, length).IndexOfAnyExcept(0f) < 0, $"round {round}: not zeroed");
            storage.AsSpan().Fill(float.NaN);
            storage = null!;
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [Fact]
    public void PackedMatrix_OverAPage_KeepsItsLayoutAndZeroPadding_OnAHugePageBoundary()
    {
        const int rows = 1030, cols = 520; // 33 panels (the last with 6 rows) × 520 × 32 floats: 2.1 MiB
        var w = new float[rows * cols];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = i + 1;
        }

        var packed = PackedMatrix.Pack(w, rows, cols);

        int pageBytes = ExpectedPageBytes();
        Assert.Equal(0, packed.DataAddress % (pageBytes > 0 ? pageBytes : PackedMatrix.AlignmentBytes));
        ReadOnlySpan<float> data = packed.Data;
        Assert.Equal(33 * cols * 32, data.Length);
        for (int p = 0; p < packed.PanelCount; p++)
        {
            for (int kk = 0; kk < cols; kk++)
            {
                for (int j = 0; j < 32; j++)
                {
                    int row = (32 * p) + j;
                    float expected = row < rows ? w[(row * cols) + kk] : 0f;
                    if (data[(p * cols * 32) + (kk * 32) + j] != expected)
                    {
                        Assert.Fail($"panel {p}, kk {kk}, j {j}: expected {expected}, got {data[(p * cols * 32) + (kk * 32) + j]}");
                    }
                }
            }
        }
    }
}
