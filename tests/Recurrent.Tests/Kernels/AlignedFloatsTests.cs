using Recurrent.Execution;
using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

public class AlignedFloatsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    public void ElementZero_Is64ByteAligned_AndTheBufferZeroed(int length)
    {
        // Several buffers in a row: arrays land at different addresses, so a missing offset shows up in one of them.
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var buffer = new AlignedFloats(length);
            Assert.Equal(length, buffer.Length);
            Assert.Equal(length, buffer.Span.Length);
            Assert.Equal(0, buffer.Address % AlignedFloats.AlignmentBytes);
            Assert.DoesNotContain(buffer.Span.ToArray(), value => value != 0f);
        }
    }

    [Fact]
    public void Views_AreOfTheSameFloats()
    {
        var buffer = new AlignedFloats(40);
        buffer.AsSpan(16, 8).Fill(3f);
        buffer.AsSpan(30)[0] = 7f;
        Assert.Equal(0f, buffer.Span[15]);
        Assert.Equal(3f, buffer.Span[16]);
        Assert.Equal(3f, buffer.Span[23]);
        Assert.Equal(0f, buffer.Span[24]);
        Assert.Equal(7f, buffer.Span[30]);
        Assert.Equal(10, buffer.AsSpan(30).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.AsSpan(30, 11));
    }

    [Fact]
    public void EmptyAndDefault_HoldNothing()
    {
        Assert.Equal(0, new AlignedFloats(0).Span.Length);
        Assert.Equal(0, default(AlignedFloats).Span.Length);
        Assert.Equal(0, default(AlignedFloats).AsSpan(0).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedFloats(-1));
    }

    [Theory]
    [InlineData(CellType.Lstm, 10, 5, 2, 64)] // in lanes, layers passing lanes between them
    [InlineData(CellType.Rnn, 20, 10, 1, 9)]  // in lanes, batch not a multiple of 16
    [InlineData(CellType.Gru, 33, 20, 2, 3)]  // row-major
    [InlineData(CellType.Lstm, 7, 40, 1, 1)]  // row-major, batch 1
    public void WorkspaceBuffers_The_Kernels_Stream_Are64ByteAligned(CellType cellType, int inputSize, int hiddenSize, int layers, int batch)
    {
        var config = LayerConfig.Create(new RecurrentLayerOptions { CellType = cellType, InputSize = inputSize, HiddenSize = hiddenSize, NumLayers = layers });
        var workspace = new Workspace(config, new StepSchedule(12, batch));
        AlignedFloats[] buffers =
        [
            workspace.Gates, workspace.RecurrentGates, workspace.JoinedInputs, workspace.Unprojected,
            workspace.LaneInputs, workspace.LaneHidden, workspace.LaneCell, workspace.LaneGates,
            .. workspace.LayerOutputs, .. workspace.LaneLayerOutputs,
        ];
        int checkedBuffers = 0;
        foreach (AlignedFloats buffer in buffers.Where(buffer => buffer.Length > 0))
        {
            Assert.Equal(0, buffer.Address % AlignedFloats.AlignmentBytes);
            checkedBuffers++;
        }

        Assert.True(checkedBuffers >= 2, $"only {checkedBuffers} buffers to check");
    }
}
