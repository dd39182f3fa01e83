package dev.shears.onnx;

import java.util.Arrays;

/**
 * A constant tensor of an ONNX file (an initializer, or the value of a Constant node), decoded and checked:
 * its element count is that of its shape. FLOAT tensors fill {@code floats}, INT64 tensors {@code longs}; the
 * other array is null.
 */
public record OnnxTensor(String name, int[] shape, float[] floats, long[] longs) {

    public boolean isFloat() { return floats != null; }

    public int size() {
        return isFloat() ? floats.length : longs.length;
    }

    public int rank() { return shape.length; }

    @Override
    public String toString() {
        return name + (isFloat() ? " FLOAT" : " INT64") + Arrays.toString(shape);
    }
}
