package dev.shears.nn.io;

import java.util.Arrays;

/**
 * One tensor of a safetensors file, independent of any tensor class: a shape, its values
 * row-major as floats, and the element type it has (or will have) on disk.
 *
 * <p>Arrays are shared, not copied; {@code equals} compares them by identity, as records do.
 *
 * @param dtype the type in the file; values are always floats in memory
 */
public record NamedArray(int[] shape, float[] data, DType dtype) {

    public NamedArray {
        long count = 1;
        try {
            for (int d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
                }
                count = Math.multiplyExact(count, d);
            }
        } catch (ArithmeticException overflow) {
            count = Arrays.stream(shape).anyMatch(d -> d == 0) ? 0 : -1;
        }
        if (count != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs "
                    + (count < 0 ? "more than 2^63" : String.valueOf(count)) + " values, found " + data.length);
        }
    }

    /** A tensor stored as F32, the default. */
    public NamedArray(int[] shape, float[] data) {
        this(shape, data, DType.F32);
    }

    /**
     * A tensor with the dtype PyTorch gives a state-dict entry of that name: I64 for BatchNorm's
     * {@code num_batches_tracked}, F32 otherwise. Use it when writing files for PyTorch to load.
     */
    public static NamedArray forPyTorch(String name, int[] shape, float[] data) {
        return new NamedArray(shape, data, name.endsWith("num_batches_tracked") ? DType.I64 : DType.F32);
    }

    /** Number of elements. */
    public int numel() {
        return data.length;
    }

    /** The index of the first NaN or infinite value, or -1 when all are finite. */
    public int firstNonFinite() {
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return "NamedArray[" + dtype + " " + Arrays.toString(shape) + "]";
    }
}
