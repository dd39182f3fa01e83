package dev.shears.nn.io;

import java.nio.ByteBuffer;

/**
 * The safetensors element types Shears reads, all converted to and from {@code float}.
 *
 * <p>Encoding is little-endian, as the format requires. Integer types hold counters such as
 * BatchNorm's {@code num_batches_tracked} (PyTorch stores it as I64); a float holds every integer
 * up to 2^24 exactly, which is plenty for them.
 */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4);

    /** Bytes per element. */
    public final int size;

    DType(int size) {
        this.size = size;
    }

    /** Reads {@code count} elements from {@code src} (little-endian) into {@code dst[off...]}. */
    void decode(ByteBuffer src, float[] dst, int off, int count) {
        switch (this) {
            case F32 -> src.asFloatBuffer().get(dst, off, count);
            case F64 -> { for (int i = 0; i < count; i++) dst[off + i] = (float) src.getDouble(i * 8); }
            case F16 -> { for (int i = 0; i < count; i++) dst[off + i] = Float.float16ToFloat(src.getShort(i * 2)); }
            // bfloat16 is the upper half of a float32: shifting back is exact.
            case BF16 -> { for (int i = 0; i < count; i++) dst[off + i] = Float.intBitsToFloat((src.getShort(i * 2) & 0xFFFF) << 16); }
            case I64 -> { for (int i = 0; i < count; i++) dst[off + i] = (float) src.getLong(i * 8); }
            case I32 -> { for (int i = 0; i < count; i++) dst[off + i] = (float) src.getInt(i * 4); }
        }
    }

    /**
     * Writes {@code src[off ... off+count)} into {@code dst} (little-endian) at its position, and
     * returns the index of the first value this type cannot hold (a fraction, or out of range for
     * an integer type), or -1. Floating types round to nearest even and never fail.
     */
    int encode(float[] src, int off, int count, ByteBuffer dst) {
        for (int i = 0; i < count; i++) {
            float v = src[off + i];
            switch (this) {
                case F32 -> dst.putFloat(v);
                case F64 -> dst.putDouble(v);
                case F16 -> dst.putShort(Float.floatToFloat16(v));
                case BF16 -> dst.putShort(toBfloat16(v));
                case I64 -> {
                    if (v != Math.rint(v) || Float.isInfinite(v)) return off + i;
                    dst.putLong((long) v);
                }
                case I32 -> {
                    if (v != Math.rint(v) || v < Integer.MIN_VALUE || v >= 0x1p31f) return off + i;
                    dst.putInt((int) v);
                }
            }
        }
        return -1;
    }

    /** Rounds to nearest even, as PyTorch's {@code .to(torch.bfloat16)} does; NaN stays a quiet NaN. */
    static short toBfloat16(float v) {
        if (Float.isNaN(v)) {
            return (short) 0x7FC0;
        }
        int bits = Float.floatToRawIntBits(v);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }
}
