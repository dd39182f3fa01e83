package dev.shears.prune.reconstruct;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Which input channels of a layer to keep, over plain arrays.
 *
 * <p>The regression view (He et al. 2017): a layer's output is the sum of its input channels'
 * contributions, Y ≈ Σ_c Z_c with Z_c = X_c·W_cᵀ (channel c's inputs times its slice of the weights). With
 * the contributions flattened to vectors, the selection methods need only their Gram matrix
 * G[c, d] = ⟨Z_c, Z_d⟩, the correlations g[c] = ⟨Z_c, Y⟩ and ‖Y‖², all of centred data (the bias absorbs
 * the means). Legend: C channels, keep the number to keep; results are sorted ascending channel indices.
 */
public final class ChannelSelection {
    private ChannelSelection() {}

    /** The {@code keep} channels with the largest importance (ties go to the lower index). */
    public static int[] topK(double[] importance, int keep) {
        checkKeep(keep, importance.length);
        return IntStream.range(0, importance.length).boxed()
                .sorted(Comparator.comparingDouble((Integer c) -> -importance[c]).thenComparingInt(c -> c))
                .limit(keep).mapToInt(Integer::intValue).sorted().toArray();
    }

    /**
     * LASSO selection (He et al. 2017, eq. 1–3): β = argmin ½‖Y − Σ_c β_c Z_c‖² + λ‖β‖₁, by coordinate
     * descent on the Gram form ½βᵀGβ − gᵀβ + λ‖β‖₁. λ is raised (bisection between 0 and λ_max = max|g|,
     * where β = 0) until at most {@code keep} coefficients are non-zero; if the last step drops below
     * {@code keep}, the remaining places go to the largest |β| at the λ just under it.
     *
     * <p>Each Z_c is first scaled to unit norm (as He et al. fix ‖W_c‖ = 1), so the penalty weighs the size of
     * a channel's contribution, not the arbitrary scale of its coefficient: unscaled, a channel with a large
     * but useless contribution would need only a small β and win cheaply.
     */
    public static int[] lasso(double[] gram, double[] g, int keep) {
        int c = g.length;
        checkKeep(keep, c);
        if (gram.length != c * c) throw new IllegalArgumentException("lasso: Gram has " + gram.length + " entries, expected " + c + "×" + c);
        if (keep == c) return IntStream.range(0, c).toArray();
        double[] norm = new double[c];
        for (int i = 0; i < c; i++) norm[i] = gram[i * c + i] > 0 ? Math.sqrt(gram[i * c + i]) : 1;
        double[] gn = new double[c], gramN = new double[c * c];
        for (int i = 0; i < c; i++) {
            gn[i] = g[i] / norm[i];
            for (int j = 0; j < c; j++) gramN[i * c + j] = gram[i * c + j] / (norm[i] * norm[j]);
        }
        return lassoNormalised(gramN, gn, keep);
    }

    private static int[] lassoNormalised(double[] gram, double[] g, int keep) {
        int c = g.length;
        double lo = 0, hi = 0;
        for (double v : g) hi = Math.max(hi, Math.abs(v));
        double[] betaLo = coordinateDescent(gram, g, lo, new double[c]);
        if (nonZeros(betaLo) <= keep) return fill(betaLo, betaLo, keep);   // the least-squares β is sparse already
        double[] betaHi = new double[c];
        for (int it = 0; it < 60 && hi - lo > 1e-12 * (hi + 1e-300); it++) {
            double mid = 0.5 * (lo + hi);
            double[] beta = coordinateDescent(gram, g, mid, betaLo.clone());
            int nz = nonZeros(beta);
            if (nz == keep) return support(beta);
            if (nz > keep) { lo = mid; betaLo = beta; }
            else { hi = mid; betaHi = beta; }
        }
        return fill(betaHi, betaLo, keep);
    }

    /** Minimises ½βᵀGβ − gᵀβ + λ‖β‖₁ from {@code beta} (modified and returned). */
    static double[] coordinateDescent(double[] gram, double[] g, double lambda, double[] beta) {
        int c = g.length;
        double[] gb = new double[c];              // G·β, kept up to date
        for (int i = 0; i < c; i++) for (int j = 0; j < c; j++) gb[i] += gram[i * c + j] * beta[j];
        double scale = 0;
        for (int i = 0; i < c; i++) scale = Math.max(scale, Math.abs(g[i]));
        for (int sweep = 0; sweep < 1000; sweep++) {
            double change = 0;
            for (int i = 0; i < c; i++) {
                double gii = gram[i * c + i];
                if (gii <= 0) { beta[i] = 0; continue; }   // a channel that never contributes
                double rho = g[i] - (gb[i] - gii * beta[i]);
                double next = Math.signum(rho) * Math.max(Math.abs(rho) - lambda, 0) / gii;
                double d = next - beta[i];
                if (d != 0) {
                    for (int j = 0; j < c; j++) gb[j] += gram[j * c + i] * d;
                    beta[i] = next;
                    change = Math.max(change, Math.abs(d) * gii);
                }
            }
            if (change <= 1e-10 * (scale + 1e-300)) break;
        }
        return beta;
    }

    /**
     * Greedy selection as in ThiNet (Luo et al. 2017): start from all channels and repeatedly drop the one
     * whose removal increases the reconstruction error with the original weights, ‖Y − Σ_{kept} Z_c‖², the
     * least. With S the kept set, removing c changes the error by 2g[c] − 2Σ_{d∈S} G[c,d] + G[c,c].
     */
    public static int[] greedy(double[] gram, double[] g, int keep) {
        int c = g.length;
        checkKeep(keep, c);
        boolean[] kept = new boolean[c];
        Arrays.fill(kept, true);
        double[] rowSum = new double[c];          // Σ_{d ∈ S} G[c, d]
        for (int i = 0; i < c; i++) for (int j = 0; j < c; j++) rowSum[i] += gram[i * c + j];
        for (int left = c; left > keep; left--) {
            int best = -1;
            double bestDelta = Double.POSITIVE_INFINITY;
            for (int i = 0; i < c; i++) {
                if (!kept[i]) continue;
                double delta = 2 * g[i] - 2 * rowSum[i] + gram[i * c + i];
                if (delta < bestDelta) { bestDelta = delta; best = i; }
            }
            kept[best] = false;
            for (int i = 0; i < c; i++) rowSum[i] -= gram[i * c + best];
        }
        return IntStream.range(0, c).filter(i -> kept[i]).toArray();
    }

    private static int nonZeros(double[] beta) {
        int n = 0;
        for (double b : beta) if (b != 0) n++;
        return n;
    }

    private static int[] support(double[] beta) {
        return IntStream.range(0, beta.length).filter(i -> beta[i] != 0).toArray();
    }

    /** The support of {@code sparse}, topped up to {@code keep} with the largest |β| of {@code dense}. */
    private static int[] fill(double[] sparse, double[] dense, int keep) {
        List<Integer> chosen = new ArrayList<>();
        for (int i : support(sparse)) chosen.add(i);
        Integer[] rest = IntStream.range(0, dense.length).filter(i -> sparse[i] == 0).boxed().toArray(Integer[]::new);
        Arrays.sort(rest, Comparator.comparingDouble((Integer i) -> -Math.abs(dense[i])).thenComparingInt(i -> i));
        for (int i = 0; chosen.size() < keep; i++) chosen.add(rest[i]);
        return chosen.stream().mapToInt(Integer::intValue).sorted().limit(keep).toArray();
    }

    private static void checkKeep(int keep, int c) {
        if (keep < 1 || keep > c)
            throw new IllegalArgumentException("channel selection: cannot keep " + keep + " of " + c + " channels (at least 1, at most all)");
    }
}
