using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

public class PackedMatrixTests
{
    private static float[] Sequence(int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = i + 1; // nonzero, distinct: a misplaced element or a missing zero pad shows up
        }

        return values;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 3)]
    [InlineData(31, 7)]
    [InlineData(32, 4)]
    [InlineData(33, 5)]
    [InlineData(64, 2)]
    [InlineData(70, 9)]
    [InlineData(100, 33)]
    public void Layout_MatchesDocumentedFormula_WithZeroPadding(int rows, int cols)
    {
        float[] w = Sequence(rows * cols);
        var packed = PackedMatrix.Pack(w, rows, cols);

        Assert.Equal(rows, packed.Rows);
        Assert.Equal(cols, packed.Cols);
        Assert.Equal((rows + 31) / 32, packed.PanelCount);
        ReadOnlySpan<float> data = packed.Data;
        Assert.Equal(packed.PanelCount * cols * 32, data.Length);
        for (int p = 0; p < packed.PanelCount; p++)
        {
            for (int kk = 0; kk < cols; kk++)
            {
                for (int j = 0; j < 32; j++)
                {
                    int row = 32 * p + j;
                    float expected = row < rows ? w[row * cols + kk] : 0f;
                    Assert.Equal(expected, data[p * cols * 32 + kk * 32 + j]);
                }
            }
        }
    }

    [Fact]
    public void Layout_HandComputedSmallCase()
    {
        // W = [[1, 2], [3, 4], [5, 6]] (3 × 2): panel 0, kk = 0 → 1, 3, 5, 0...; kk = 1 → 2, 4, 6, 0...
        var packed = PackedMatrix.Pack([1, 2, 3, 4, 5, 6], 3, 2);
        ReadOnlySpan<float> d = packed.Data;
        Assert.Equal(64, d.Length);
        Assert.Equal([1f, 3f, 5f, 0f], d[..4].ToArray());
        Assert.Equal([2f, 4f, 6f, 0f], d[32..36].ToArray());
        Assert.Equal(0f, d[31]);
        Assert.Equal(0f, d[63]);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(33, 17)]
    [InlineData(97, 31)]
    [InlineData(128, 64)]
    public void Data_Is64ByteAligned(int rows, int cols)
    {
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var packed = PackedMatrix.Pack(Sequence(rows * cols), rows, cols);
            Assert.Equal(0, packed.DataAddress % PackedMatrix.AlignmentBytes);
        }
    }

    [Fact]
    public void UsesOnlyTheFirstRowsTimesCols_AndAcceptsEmpty()
    {
        float[] w = Sequence(12);
        var packed = PackedMatrix.Pack(w, 2, 5); // 10 of 12
        Assert.Equal(10f, packed.Data[4 * 32 + 1]); // W[1, 4] = 10

        var empty = PackedMatrix.Pack([], 0, 7);
        Assert.Equal(0, empty.PanelCount);
        Assert.Equal(0, empty.Data.Length);

        var noCols = PackedMatrix.Pack([], 40, 0);
        Assert.Equal(2, noCols.PanelCount);
        Assert.Equal(0, noCols.Data.Length);
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedMatrix.Pack(new float[4], -1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedMatrix.Pack(new float[4], 2, -1));
        Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(new float[5], 2, 3));
    }
}
