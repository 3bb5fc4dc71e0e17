using Recurrent.Execution;

namespace Recurrent.Tests.Layers;

/// <summary>Row copies between strides (h into a bidirectional output's columns, [x | h] rows): the rows' floats and
/// nothing else, on the masked AVX-512 path (rows of ≤ 16 floats, where available) and the span path (longer rows, and
/// every row in the CI runs without AVX-512).</summary>
public class StridedRowsTests
{
    [Fact]
    public void Copy_WritesTheRowsOnly_AtEveryWidthAndStride()
    {
        var rng = new Random(3);
        foreach (int width in new[] { 1, 5, 10, 15, 16, 17, 20, 33 })
        {
            foreach ((int sourceExtra, int destinationExtra) in new[] { (0, 0), (3, 7), (0, 16), (20, 1) })
            {
                int rows = 9, sourceStride = width + sourceExtra, destinationStride = width + destinationExtra;
                float[] source = Enumerable.Range(0, ((rows - 1) * sourceStride) + width).Select(_ => (float)rng.NextDouble()).ToArray();
                float[] destination = Enumerable.Repeat(float.NaN, ((rows - 1) * destinationStride) + width + 5).ToArray();

                StridedRows.Copy(source, sourceStride, destination, destinationStride, rows, width);

                for (int i = 0; i < destination.Length; i++)
                {
                    int n = i / destinationStride, j = i % destinationStride;
                    bool inRow = n < rows && j < width;
                    string where = $"width {width}, strides {sourceStride}/{destinationStride}, float {i}";
                    if (inRow)
                    {
                        Assert.True(source[(n * sourceStride) + j] == destination[i], where);
                    }
                    else
                    {
                        Assert.True(float.IsNaN(destination[i]), where + " is outside the rows but was written");
                    }
                }
            }
        }
    }

    [Fact]
    public void Copy_SpansTooShort_Throw()
    {
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => StridedRows.Copy(new float[14], 5, new float[20], 5, 3, 5)).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => StridedRows.Copy(new float[20], 5, new float[14], 5, 3, 5)).ParamName);
    }
}
