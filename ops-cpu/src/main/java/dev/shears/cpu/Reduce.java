package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reductions and data movement: sumTo (the reduction that undoes a broadcast) and permute.
 *
 * <p>Legend for sumTo after merging dimensions: R a reduced run of dimensions, K a kept one. The shapes on
 * the training path get fast paths: [R,K] → [1,K] (bias gradient of a linear layer: column sums),
 * [K,R] → [K,1] (row sums), [R,K,R] → [1,K,1] (bias gradient of a conv, [N,C,H,W] → [1,C,1,1]) and [R]
 * (total). Anything else takes the scalar odometer of the reference.
 */
final class Reduce {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Reduce() {}

    static void sumTo(Parallel par, boolean simd, int[] xShape, float[] x, int[] outShape, float[] out) {
        // merge neighbouring dimensions that are both kept or both reduced; drop size-1 ones
        int rank = xShape.length;
        int[] size = new int[rank];
        boolean[] kept = new boolean[rank];
        int dims = 0, total = 1;
        for (int d = 0; d < rank; d++) {
            total *= xShape[d];
            if (xShape[d] == 1) continue;
            boolean k = outShape[d] != 1;
            if (dims > 0 && kept[dims - 1] == k) size[dims - 1] *= xShape[d];
            else { size[dims] = xShape[d]; kept[dims] = k; dims++; }
        }
        int outLen = 1;
        for (int d : outShape) outLen *= d;
        if (total == 0) { java.util.Arrays.fill(out, 0, outLen, 0f); return; }
        if (dims == 0 || (dims == 1 && kept[0])) { System.arraycopy(x, 0, out, 0, outLen); return; }
        if (dims == 1) { out[0] = (float) sum(simd, x, 0, total); return; }
        if (dims == 2 && !kept[0]) { columnSums(par, simd, size[0], size[1], x, out); return; }
        if (dims == 2) {
            int rows = size[0], len = size[1];
            par.parallelFor(0, rows, Math.max(1, Pointwise.GRAIN / len), (lo, hi) -> {
                for (int r = lo; r < hi; r++) out[r] = (float) sum(simd, x, r * len, len);
            });
            return;
        }
        if (dims == 3 && !kept[0]) {
            int outer = size[0], k = size[1], len = size[2];
            par.parallelFor(0, k, Math.max(1, Pointwise.GRAIN / (outer * len)), (lo, hi) -> {
                for (int j = lo; j < hi; j++) {
                    double s = 0;
                    for (int o = 0; o < outer; o++) s += sum(simd, x, (o * k + j) * len, len);
                    out[j] = (float) s;
                }
            });
            return;
        }
        generic(xShape, x, outShape, out, outLen);
    }

    /** Σ x[off .. off+n) with L partial sums per vector (float), added up in double. */
    static double sum(boolean simd, float[] x, int off, int n) {
        int i = 0;
        double s = 0;
        if (simd && n >= 4 * L) {
            FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
            for (int bound = n - n % (4 * L); i < bound; i += 4 * L) {
                s0 = s0.add(FloatVector.fromArray(S, x, off + i));
                s1 = s1.add(FloatVector.fromArray(S, x, off + i + L));
                s2 = s2.add(FloatVector.fromArray(S, x, off + i + 2 * L));
                s3 = s3.add(FloatVector.fromArray(S, x, off + i + 3 * L));
            }
            s = Lanes.sum(s0.add(s1).add(s2.add(s3)));
        }
        for (; i < n; i++) s += x[off + i];
        return s;
    }

    /** out[j] = Σ_i x[i·cols + j]: whole rows are added as vectors, so memory is read in order. */
    private static void columnSums(Parallel par, boolean simd, int rows, int cols, float[] x, float[] out) {
        par.parallelFor(0, cols, Math.max(L, Pointwise.GRAIN / rows), (lo, hi) -> {
            java.util.Arrays.fill(out, lo, hi, 0f);
            for (int r = 0; r < rows; r++) {
                int base = r * cols, j = lo;
                if (simd)
                    for (int bound = lo + S.loopBound(hi - lo); j < bound; j += L)
                        FloatVector.fromArray(S, out, j).add(FloatVector.fromArray(S, x, base + j)).intoArray(out, j);
                for (; j < hi; j++) out[j] += x[base + j];
            }
        });
    }

    private static void generic(int[] xShape, float[] x, int[] outShape, float[] out, int outLen) {
        int rank = xShape.length;
        int[] oStride = new int[rank];
        for (int d = rank - 1, s = 1; d >= 0; d--) { oStride[d] = outShape[d] == 1 ? 0 : s; s *= outShape[d]; }
        double[] acc = new double[outLen];
        int[] idx = new int[rank];
        int total = 1;
        for (int d : xShape) total *= d;
        int oi = 0;
        for (int i = 0; i < total; i++) {
            acc[oi] += x[i];
            // odometer: step the last index, carry leftwards, keep the output offset in step
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                oi += oStride[d];
                if (idx[d] < xShape[d]) break;
                oi -= oStride[d] * xShape[d];
                idx[d] = 0;
            }
        }
        for (int i = 0; i < outLen; i++) out[i] = (float) acc[i];
    }

    /**
     * y = x permuted (y's dimension d is x's dimension perm[d]). A gather with no arithmetic: scalar, with
     * an odometer per output row so that the inner loop is one strided read and a contiguous write.
     */
    static void permute(Parallel par, int[] xShape, int[] perm, float[] x, float[] y) {
        int rank = xShape.length;
        if (rank == 0) { y[0] = x[0]; return; }
        int[] xStride = new int[rank];
        for (int d = rank - 1, s = 1; d >= 0; s *= xShape[d], d--) xStride[d] = s;
        int[] yShape = new int[rank], src = new int[rank];
        int total = 1;
        for (int d = 0; d < rank; d++) { yShape[d] = xShape[perm[d]]; src[d] = xStride[perm[d]]; total *= yShape[d]; }
        if (total == 0) return;
        int inner = yShape[rank - 1], innerStride = src[rank - 1], rows = total / inner;
        par.parallelFor(0, rows, Math.max(1, Pointwise.GRAIN / inner), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int rem = r, xi = 0;
                for (int d = rank - 2; d >= 0; d--) { xi += (rem % yShape[d]) * src[d]; rem /= yShape[d]; }
                for (int j = 0, yi = r * inner; j < inner; j++, xi += innerStride) y[yi + j] = x[xi];
            }
        });
    }
}
