package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused log-softmax + negative log-likelihood. Legend: N rows (samples), C classes, logits [N,C], labels [N].
 *
 * <p>Forward caches logProbs, which is all backward needs: softmax = exp(logProbs). Rows are independent,
 * so rows are split across threads; within a row the max, Σexp and the subtraction are vectorised once a
 * row is at least one vector long (MNIST's C = 10 is not: those rows take the scalar loop, which is the
 * oracle everywhere).
 */
final class Loss {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Loss() {}

    static void crossEntropyForward(Parallel par, boolean simd, int n, int c, float[] logits, int[] labels,
                                    float[] logProbs, float[] loss) {
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= c)
                throw new IllegalArgumentException("cross_entropy: label " + labels[i] + " of sample " + i + " is outside [0, " + c + ")");
        double[] partial = new double[n];
        par.parallelFor(0, n, Math.max(1, Pointwise.GRAIN / c), (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int off = i * c, j = 0;
                // subtract the row maximum so exp never overflows (the log-sum-exp trick)
                float max = Float.NEGATIVE_INFINITY;
                boolean vec = simd && c >= L;
                int bound = S.loopBound(c);
                if (vec) {
                    FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                    for (; j < bound; j += L) m = m.max(FloatVector.fromArray(S, logits, off + j));
                    max = m.reduceLanes(VectorOperators.MAX);
                }
                for (; j < c; j++) max = Math.max(max, logits[off + j]);
                // scalar exps (see crossEntropyBackward: the vector EXP's last bit depends on the JIT tier)
                double sum = 0;
                for (j = 0; j < c; j++) sum += Math.exp(logits[off + j] - max);
                float lse = (float) (max + Math.log(sum));
                j = 0;
                if (vec) for (; j < bound; j += L) FloatVector.fromArray(S, logits, off + j).sub(lse).intoArray(logProbs, off + j);
                for (; j < c; j++) logProbs[off + j] = logits[off + j] - lse;
                partial[i] = -(double) logProbs[off + labels[i]];
            }
        });
        double total = 0;
        for (double v : partial) total += v;
        loss[0] = (float) (total / n);
    }

    /** dLogits = (softmax − onehot(label)) · dLoss / N, with softmax = exp(logProbs). */
    static void crossEntropyBackward(Parallel par, boolean simd, int n, int c, float[] logProbs, int[] labels,
                                     float dLoss, float[] dLogits) {
        float scale = dLoss / n;
        par.parallelFor(0, n, Math.max(1, Pointwise.GRAIN / c), (lo, hi) -> {
            // scalar Math.exp, not the vector EXP: the JIT-compiled vector EXP and the interpreter's can differ
            // in the last bit, and which one a step gets depends on when C2 compiled this method, so two runs
            // with the same seed drifted apart (see Lanes); N·C exps per step are a few µs
            for (int i = lo * c, end = hi * c; i < end; i++) dLogits[i] = (float) Math.exp(logProbs[i]) * scale;
            for (int r = lo; r < hi; r++) dLogits[r * c + labels[r]] = ((float) Math.exp(logProbs[r * c + labels[r]]) - 1f) * scale;
        });
    }
}
