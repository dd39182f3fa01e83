package dev.shears.core;

import java.util.Arrays;

/** Shape arithmetic and the checks every op runs before a backend sees its arguments. */
public final class Shapes {
    private Shapes() {}

    /** Number of elements; rejects negative sizes and overflow of int. */
    public static int size(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
            if (n > Integer.MAX_VALUE)
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
        }
        return (int) n;
    }

    public static int[] ones(int rank) {
        int[] s = new int[rank];
        Arrays.fill(s, 1);
        return s;
    }

    /** {@code shape} padded with leading 1s to {@code rank}. */
    public static int[] padLeft(int[] shape, int rank) {
        int[] s = ones(rank);
        System.arraycopy(shape, 0, s, rank - shape.length, shape.length);
        return s;
    }

    /** NumPy's broadcast of two shapes, or an error naming the op and both shapes. */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] pa = padLeft(a, rank), pb = padLeft(b, rank), out = new int[rank];
        for (int d = 0; d < rank; d++) {
            if (pa[d] == pb[d] || pb[d] == 1) out[d] = pa[d];
            else if (pa[d] == 1) out[d] = pb[d];
            else throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                    + " do not broadcast (dimension " + d + " of the aligned shapes: " + pa[d] + " vs " + pb[d] + ")");
        }
        return out;
    }

    /** Whether {@code from} broadcasts to exactly {@code to}. */
    public static boolean broadcastsTo(int[] from, int[] to) {
        if (from.length > to.length) return false;
        int[] p = padLeft(from, to.length);
        for (int d = 0; d < to.length; d++) if (p[d] != 1 && p[d] != to[d]) return false;
        return true;
    }

    public static void requireRank(String op, String what, Tensor t, int rank) {
        if (t.rank() != rank)
            throw new IllegalArgumentException(op + ": " + what + " must have rank " + rank + ", found shape " + Arrays.toString(t.shape()));
    }

    public static void requireSameBackend(String op, Tensor... ts) {
        Backend b = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (b == null) b = t.backend();
            else if (b != t.backend())
                throw new IllegalArgumentException(op + ": tensors live on different backends (" + b.name() + " and "
                        + t.backend().name() + "); move one with Tensor.to(backend)");
        }
    }
}
