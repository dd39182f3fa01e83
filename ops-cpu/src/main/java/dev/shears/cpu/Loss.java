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
                double sum = 0;
                j = 0;
                if (vec) {
                    FloatVector s = FloatVector.zero(S);
                    for (; j < bound; j += L) s = s.add(FloatVector.fromArray(S, logits, off + j).sub(max).lanewise(VectorOperators.EXP));
                    sum = Lanes.sum(s);
                }
                for (; j < c; j++) sum += Math.exp(logits[off + j] - max);
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
            int i = lo * c, end = hi * c;
            if (simd)
                for (int bound = i + S.loopBound(end - i); i < bound; i += L)
                    FloatVector.fromArray(S, logProbs, i).lanewise(VectorOperators.EXP).mul(scale).intoArray(dLogits, i);
            for (; i < end; i++) dLogits[i] = (float) Math.exp(logProbs[i]) * scale;
            for (int r = lo; r < hi; r++) dLogits[r * c + labels[r]] = ((float) Math.exp(logProbs[r * c + labels[r]]) - 1f) * scale;
        });
    }
}
