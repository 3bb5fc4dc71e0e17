using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// The lane operations the gate math needs, for one vector type <typeparamref name="TV"/>. A struct per width implements
/// it, so the generic gate math (<see cref="VectorMath"/>, <see cref="GateMath"/>) is compiled once per width and every
/// call inlines to the width's own instruction.
/// </summary>
/// <remarks>
/// Invariant: every operation acts on each lane alone and the same way at every width (IEEE single precision, one
/// rounding per operation, fused multiply-add rounded once, or at every width a multiply then an add where the
/// hardware has no fused multiply-add), so an element's result depends neither on the width nor on its lane. The widths
/// are therefore interchangeable bit for bit; the tests hold them to that.
/// </remarks>
internal interface IFloatLanes<TV>
    where TV : struct
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    static abstract TV Create(float value);

    /// <summary>The first <see cref="Count"/> floats of <paramref name="source"/> (which must hold that many).</summary>
    static abstract TV Load(ReadOnlySpan<float> source);

    /// <summary>The <see cref="Count"/> floats at <paramref name="offset"/> from <paramref name="source"/>, unchecked: the
    /// caller has made sure they lie in its buffer.</summary>
    static abstract TV LoadUnsafe(ref float source, nint offset);

    /// <summary>All lanes to the first <see cref="Count"/> floats of <paramref name="destination"/>.</summary>
    static abstract void Store(TV value, Span<float> destination);

    static abstract float Lane(TV value, int index);

    static abstract TV Add(TV a, TV b);

    static abstract TV Subtract(TV a, TV b);

    static abstract TV Multiply(TV a, TV b);

    static abstract TV Divide(TV a, TV b);

    static abstract TV Negate(TV a);

    static abstract TV Abs(TV a);

    /// <summary>a·b + c with one rounding; a·b, then + c, where the hardware has no fused multiply-add
    /// (<see cref="FusedMultiplyAdds.InHardware"/>: the runtime's emulation is far too slow).</summary>
    static abstract TV FusedMultiplyAdd(TV a, TV b, TV c);

    /// <summary>The smaller; when either is NaN, whichever the hardware gives: <paramref name="b"/> on x86 (MINPS) and in
    /// the runtime's software fallback (the tests run with hardware intrinsics off), NaN on Arm (FMIN). So a NaN
    /// <paramref name="b"/> comes back everywhere: <see cref="VectorMath"/> clamps as MinNative(constant, value) and relies
    /// on it.</summary>
    static abstract TV MinNative(TV a, TV b);

    /// <summary>The larger; NaN as <see cref="MinNative"/>.</summary>
    static abstract TV MaxNative(TV a, TV b);

    /// <summary>To the nearest integer, ties to even.</summary>
    static abstract TV Round(TV a);

    static abstract TV Floor(TV a);

    /// <summary>2^(n − 1) for lanes holding an integer n in [−125, 128]: the float whose bits are (n + 126) &lt;&lt; 23.</summary>
    static abstract TV Pow2Minus1(TV n);

    /// <summary>
    /// 2^(n − 1) for lanes holding t = 1.5·2^23 + n, n an integer in [−125, 128] (t's last mantissa bits are n): the
    /// float whose bits are (bits(t) &lt;&lt; 23) + (126 &lt;&lt; 23), the shift keeping only n's last 9 bits.
    /// </summary>
    static abstract TV Pow2Minus1OfShifted(TV t);

    /// <summary>2^n for lanes holding t = 1.5·2^23 + n, n an integer in [−126, 128] (+∞ for 128): the float whose bits
    /// are (bits(t) &lt;&lt; 23) + (127 &lt;&lt; 23).</summary>
    static abstract TV Pow2OfShifted(TV t);

    /// <summary>All bits set where a == b (false for NaN), clear elsewhere.</summary>
    static abstract TV Equals(TV a, TV b);

    static abstract TV GreaterThan(TV a, TV b);

    static abstract TV GreaterThanOrEqual(TV a, TV b);

    static abstract TV LessThan(TV a, TV b);

    /// <summary>Bitwise: the bits of <paramref name="whenTrue"/> where <paramref name="mask"/> has them set, else those of
    /// <paramref name="whenFalse"/>.</summary>
    static abstract TV ConditionalSelect(TV mask, TV whenTrue, TV whenFalse);
}

/// <summary><see cref="Vector{T}"/>: the runtime's natural width (256 bits on x64 with AVX2, 128 on Arm and older x64,
/// software lanes when SIMD is off).</summary>
internal readonly struct NaturalLanes : IFloatLanes<Vector<float>>
{
    public static int Count => Vector<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Create(float value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(ReadOnlySpan<float> source) => new(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> LoadUnsafe(ref float source, nint offset) => Vector.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> value, Span<float> destination) => value.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lane(Vector<float> value, int index) => value[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Add(Vector<float> a, Vector<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Subtract(Vector<float> a, Vector<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Multiply(Vector<float> a, Vector<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Divide(Vector<float> a, Vector<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Negate(Vector<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Abs(Vector<float> a) => Vector.Abs(a);

    // FusedMultiplyAdds.InHardware written out (here and in the other widths): the gate math inlines ~80 of these per
    // kernel, and one property call more each exhausted the JIT's inlining budget under DOTNET_EnableAVX=0, leaving
    // Store and Count to the unoptimized tier (FirstCallTierTests).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> FusedMultiplyAdd(Vector<float> a, Vector<float> b, Vector<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> MinNative(Vector<float> a, Vector<float> b) => Vector.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> MaxNative(Vector<float> a, Vector<float> b) => Vector.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Round(Vector<float> a) => Vector.Round(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Floor(Vector<float> a) => Vector.Floor(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Pow2Minus1(Vector<float> n) =>
        Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32Native(n) + new Vector<int>(126), 23));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Pow2Minus1OfShifted(Vector<float> t) =>
        Vector.AsVectorSingle(Vector.ShiftLeft(Vector.AsVectorInt32(t), 23) + new Vector<int>(126 << 23));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Pow2OfShifted(Vector<float> t) =>
        Vector.AsVectorSingle(Vector.ShiftLeft(Vector.AsVectorInt32(t), 23) + new Vector<int>(127 << 23));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Equals(Vector<float> a, Vector<float> b) => Vector.AsVectorSingle(Vector.Equals(a, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> GreaterThan(Vector<float> a, Vector<float> b) => Vector.AsVectorSingle(Vector.GreaterThan(a, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> GreaterThanOrEqual(Vector<float> a, Vector<float> b) => Vector.AsVectorSingle(Vector.GreaterThanOrEqual(a, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> LessThan(Vector<float> a, Vector<float> b) => Vector.AsVectorSingle(Vector.LessThan(a, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> ConditionalSelect(Vector<float> mask, Vector<float> whenTrue, Vector<float> whenFalse) =>
        Vector.ConditionalSelect(mask, whenTrue, whenFalse);
}

/// <summary><see cref="Vector512{T}"/>: 16 lanes, used where the hardware accelerates it (the runtime keeps
/// <see cref="Vector{T}"/> at 256 bits even then). Emulated lane by lane elsewhere, with the same results.</summary>
internal readonly struct Lanes512 : IFloatLanes<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Create(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ReadOnlySpan<float> source) => Vector512.Create(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadUnsafe(ref float source, nint offset) => Vector512.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, Span<float> destination) => value.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lane(Vector512<float> value, int index) => value[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Negate(Vector512<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector512.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MinNative(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Floor(Vector512<float> a) => Vector512.Floor(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2Minus1(Vector512<float> n) =>
        Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(126), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2Minus1OfShifted(Vector512<float> t) =>
        (Vector512.ShiftLeft(t.AsInt32(), 23) + Vector512.Create(126 << 23)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2OfShifted(Vector512<float> t) =>
        (Vector512.ShiftLeft(t.AsInt32(), 23) + Vector512.Create(127 << 23)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Equals(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> GreaterThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ConditionalSelect(Vector512<float> mask, Vector512<float> whenTrue, Vector512<float> whenFalse) =>
        Vector512.ConditionalSelect(mask, whenTrue, whenFalse);
}

/// <summary><see cref="Vector256{T}"/>: 8 lanes, for the lane steps where Vector512 is not accelerated (AVX2 machines);
/// <see cref="Vector{T}"/> is not used there, since its width is a setting of the runtime. Emulated elsewhere, with the
/// same results.</summary>
internal readonly struct Lanes256 : IFloatLanes<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Create(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ReadOnlySpan<float> source) => Vector256.Create(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadUnsafe(ref float source, nint offset) => Vector256.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, Span<float> destination) => value.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lane(Vector256<float> value, int index) => value[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Negate(Vector256<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector256.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MinNative(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Floor(Vector256<float> a) => Vector256.Floor(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2Minus1(Vector256<float> n) =>
        Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(126), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2Minus1OfShifted(Vector256<float> t) =>
        (Vector256.ShiftLeft(t.AsInt32(), 23) + Vector256.Create(126 << 23)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2OfShifted(Vector256<float> t) =>
        (Vector256.ShiftLeft(t.AsInt32(), 23) + Vector256.Create(127 << 23)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Equals(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GreaterThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ConditionalSelect(Vector256<float> mask, Vector256<float> whenTrue, Vector256<float> whenFalse) =>
        Vector256.ConditionalSelect(mask, whenTrue, whenFalse);
}

/// <summary><see cref="Vector128{T}"/>: 4 lanes, for the lane steps where neither Vector512 nor Vector256 is accelerated
/// (Arm64, x64 before AVX2). Emulated elsewhere, with the same results.</summary>
internal readonly struct Lanes128 : IFloatLanes<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Create(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ReadOnlySpan<float> source) => Vector128.Create(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadUnsafe(ref float source, nint offset) => Vector128.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, Span<float> destination) => value.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lane(Vector128<float> value, int index) => value[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Negate(Vector128<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> FusedMultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector128.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MinNative(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MaxNative(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Floor(Vector128<float> a) => Vector128.Floor(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2Minus1(Vector128<float> n) =>
        Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(126), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2Minus1OfShifted(Vector128<float> t) =>
        (Vector128.ShiftLeft(t.AsInt32(), 23) + Vector128.Create(126 << 23)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2OfShifted(Vector128<float> t) =>
        (Vector128.ShiftLeft(t.AsInt32(), 23) + Vector128.Create(127 << 23)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Equals(Vector128<float> a, Vector128<float> b) => Vector128.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> GreaterThan(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> GreaterThanOrEqual(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LessThan(Vector128<float> a, Vector128<float> b) => Vector128.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ConditionalSelect(Vector128<float> mask, Vector128<float> whenTrue, Vector128<float> whenFalse) =>
        Vector128.ConditionalSelect(mask, whenTrue, whenFalse);
}
