package dev.shears.prune;

import dev.shears.core.Tensor;

import java.util.Arrays;

/** Host-side gathers along one dimension: the only tensor surgery pruning needs. Row-major, contiguous. */
public final class Slices {
    private Slices() {}

    /** A new tensor, on {@code t}'s backend, with only the entries {@code index} along {@code dim}, in that order. */
    public static Tensor select(Tensor t, int dim, int[] index) {
        int[] shape = t.shape();
        if (dim < 0 || dim >= shape.length)
            throw new IllegalArgumentException("select: dimension " + dim + " of shape " + Arrays.toString(shape));
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.length; d++) inner *= shape[d];
        int n = shape[dim];
        for (int i : index)
            if (i < 0 || i >= n) throw new IllegalArgumentException("select: index " + i + " outside [0, " + n + ") of dimension " + dim + " of " + Arrays.toString(shape));
        float[] src = t.toArray(), dst = new float[outer * index.length * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.length; j++)
                System.arraycopy(src, (o * n + index[j]) * inner, dst, (o * index.length + j) * inner, inner);
        shape[dim] = index.length;
        return Tensor.of(t.backend(), dst, shape);
    }

    /** The feature indices owned by channels {@code channels} when each owns {@code perChannel} consecutive ones. */
    public static int[] features(int[] channels, int perChannel) {
        int[] out = new int[channels.length * perChannel];
        for (int j = 0; j < channels.length; j++)
            for (int f = 0; f < perChannel; f++) out[j * perChannel + f] = channels[j] * perChannel + f;
        return out;
    }

    /** [0, n) without {@code keep} (which must be sorted). */
    public static int[] complement(int[] keep, int n) {
        int[] out = new int[n - keep.length];
        int k = 0, o = 0;
        for (int i = 0; i < n; i++) {
            if (k < keep.length && keep[k] == i) k++;
            else out[o++] = i;
        }
        return out;
    }
}
