package dev.shears.cpu;

import java.util.Arrays;

/**
 * A thread's last few reorders of weights (or biases) into a kernel's layout, looked up by content: a compiled
 * model's convolution gets the same weights call after call, and reordering them each time cost
 * {@link DirectConv#forward} a 74 KiB array per call for SimpleCNN's conv2. An entry keeps a copy of the
 * source it was made from and is reused only while the source holds the same values, bit for bit
 * ({@link Arrays#equals(float[], int, int, float[], int, int)}: a vectorised compare, cheaper than the
 * reorder's scatter), so weights written in place (an optimiser step) are never served stale, and the
 * result is the same bits as reordering afresh. On a miss the least recently used entry takes the new
 * source, in its own arrays when the lengths match (a training step's changing weights allocate nothing
 * either).
 */
final class Blocked {
    /** Entries per thread: SimpleCNN's convolutions with their biases and a few more. */
    static final int ENTRIES = 8;

    /**
     * How a source becomes its reordered form: writes every element of {@code out} from src[0, length), given
     * two sizes (for weights K and T; their product is the length).
     */
    @FunctionalInterface
    interface Reorder {
        void into(float[] src, int a, int b, float[] out);
    }

    private final float[][] sources = new float[ENTRIES][], results = new float[ENTRIES][];
    private final Reorder[] reorders = new Reorder[ENTRIES];
    private final int[] lengths = new int[ENTRIES], as = new int[ENTRIES], bs = new int[ENTRIES];
    private final long[] used = new long[ENTRIES];
    private long clock;

    private static final ThreadLocal<Blocked> CACHE = ThreadLocal.withInitial(Blocked::new);

    /**
     * {@code reorder} of src[0, length) with sizes a and b into an array of {@code outLength} floats, from
     * this thread's cache when an entry of the same reorder (by identity: pass a method reference kept in a
     * constant) and sizes holds the same source values. The result is read-only and stays valid while this
     * thread makes fewer than {@link #ENTRIES} other lookups.
     */
    static float[] of(Reorder reorder, int a, int b, float[] src, int length, int outLength) {
        return CACHE.get().lookup(reorder, a, b, src, length, outLength);
    }

    private float[] lookup(Reorder reorder, int a, int b, float[] src, int length, int outLength) {
        int victim = 0;
        for (int i = 0; i < ENTRIES; i++) {
            if (reorders[i] == reorder && as[i] == a && bs[i] == b && lengths[i] == length && results[i].length == outLength
                    && Arrays.equals(sources[i], 0, length, src, 0, length)) {
                used[i] = ++clock;
                return results[i];
            }
            if (used[i] < used[victim]) victim = i;
        }
        if (sources[victim] == null || sources[victim].length != length) sources[victim] = new float[length];
        if (results[victim] == null || results[victim].length != outLength) results[victim] = new float[outLength];
        System.arraycopy(src, 0, sources[victim], 0, length);
        reorders[victim] = reorder;
        lengths[victim] = length;
        as[victim] = a;
        bs[victim] = b;
        reorder.into(src, a, b, results[victim]);
        used[victim] = ++clock;
        return results[victim];
    }
}
