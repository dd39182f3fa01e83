package dev.shears.prune.reconstruct;

import org.ejml.data.DMatrix;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * The reconstruction step: W = argmin ‖Y − X·W‖² + λ‖W‖², solved through the normal equations
 * (XᵀX + λI)·W = XᵀY with EJML's Cholesky solver.
 *
 * <p>Legend: N unknowns per output (kept channels × kernel positions), K outputs. The caller passes the
 * Gram matrices of <em>centred</em> data (the intercept is recovered as ȳ − x̄ᵀW), so neither the bias nor
 * a common offset of the inputs enters the system.
 *
 * <p>The normal equations are N×N however many samples there are, which is what makes 5,000 images
 * cheap; their price is a squared condition number. A system that is rank-deficient (fewer samples than
 * unknowns, inputs that repeat each other) is not returned as NaN or huge weights: when Cholesky fails or
 * reports a near-singular factor, the ridge is raised (relative to the mean diagonal, so it is scale-free)
 * until it succeeds, and {@link Solution#note} says so. Inputs that are constant on the samples (a dead
 * channel, a background corner, a border tap that padding keeps at 0) are taken out first and get weight 0.
 */
public final class LeastSquares {
    /**
     * A Cholesky pivot L_ii² below this fraction of the largest diagonal of XᵀX is noise: the data are float
     * (7 digits), so a direction with so little variance carries no information, only rounding.
     */
    static final double MIN_PIVOT = 1e-9;
    /** An input whose variance is below this fraction of the largest is constant up to float rounding. */
    static final double CONSTANT = 1e-10;
    private static final double FIRST_FALLBACK = 1e-8, LAST_FALLBACK = 1e-1;

    private LeastSquares() {}

    /**
     * @param w       N×K row-major: column k holds the weights of output k
     * @param ridge   the relative ridge actually used (λ / mean diagonal of XᵀX)
     * @param fitted  Σ_k w_kᵀ·XᵀX·w_k = ‖X·W‖², from the normal equations: (XᵀX + λI)·W = XᵀY gives
     *                wᵀ·XᵀX·w = wᵀ·XᵀY − λ‖w‖², so the residual ‖Y − XW‖² = ‖Y‖² − 2·tr(WᵀXᵀY) + fitted
     *                needs no N×N×K product
     * @param note    empty, or why the ridge differs from the one asked for
     */
    public record Solution(double[] w, int n, int k, double ridge, double fitted, String note) {}

    /**
     * Solves (H + λ·mean(diag H)·I)·W = B.
     *
     * @param h     XᵀX, N×N row-major (not modified)
     * @param b     XᵀY, N×K row-major (not modified)
     * @param ridge relative ridge λ ≥ 0; 0 asks for plain least squares
     * @throws IllegalArgumentException on a size mismatch, or a non-finite input
     * @throws IllegalStateException when even the largest fallback ridge gives no finite solution
     */
    public static Solution solve(double[] h, double[] b, int n, int k, double ridge) {
        if (h.length != n * n) throw new IllegalArgumentException("least squares: XᵀX has " + h.length + " entries, expected " + n + "×" + n);
        if (b.length != n * k) throw new IllegalArgumentException("least squares: XᵀY has " + b.length + " entries, expected " + n + "×" + k);
        if (ridge < 0 || !Double.isFinite(ridge)) throw new IllegalArgumentException("least squares: ridge must be finite and >= 0, got " + ridge);
        for (double v : h) if (!Double.isFinite(v)) throw new IllegalArgumentException("least squares: XᵀX holds a non-finite value (NaN or Inf in the sampled activations)");
        for (double v : b) if (!Double.isFinite(v)) throw new IllegalArgumentException("least squares: XᵀY holds a non-finite value (NaN or Inf in the sampled targets)");
        // an input with no variance on the samples (a background corner, a dead channel) carries nothing the
        // bias does not: it gets weight 0 and leaves the system, instead of making it singular
        double largestDiag = maxDiag(h, n);
        int[] active = java.util.stream.IntStream.range(0, n).filter(i -> h[i * n + i] > CONSTANT * largestDiag).toArray();
        int na = active.length;
        double[] w = new double[n * k];
        String constantNote = na < n ? (n - na) + " of " + n + " inputs are constant on the samples and get weight 0" : "";
        if (na == 0) return new Solution(w, n, k, ridge, 0, constantNote);
        double[] ha = new double[na * na], ba = new double[na * k];
        for (int i = 0; i < na; i++) {
            for (int j = 0; j < na; j++) ha[i * na + j] = h[active[i] * n + active[j]];
            System.arraycopy(b, active[i] * k, ba, i * k, k);
        }
        double scale = 0;
        for (int i = 0; i < na; i++) scale += ha[i * na + i];
        scale /= na;
        DMatrixRMaj bm = DMatrixRMaj.wrap(na, k, ba);
        String note = constantNote;
        double lambda = ridge;
        while (true) {
            DMatrixRMaj a = DMatrixRMaj.wrap(na, na, ha.clone());
            for (int i = 0; i < na; i++) a.data[i * na + i] += lambda * scale;
            double largest = maxDiag(a.data, na);   // before setA, which may factor in place
            LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_DDRM.chol(na);
            String failure = null;
            double pivot;
            if (!solver.setA(a)) failure = "XᵀX is not positive definite";
            else if ((pivot = smallestPivot(solver.getDecomposition(), na, largest)) < MIN_PIVOT)
                failure = "XᵀX is near-singular (smallest Cholesky pivot " + String.format("%.1e", pivot) + " of the largest diagonal)";
            if (failure == null) {
                DMatrixRMaj sol = new DMatrixRMaj(na, k);
                solver.solve(bm, sol);
                if (allFinite(sol.data)) {
                    for (int i = 0; i < na; i++) System.arraycopy(sol.data, i * k, w, active[i] * k, k);
                    double wb = 0, ww = 0;
                    for (int i = 0; i < na * k; i++) { wb += sol.data[i] * ba[i]; ww += sol.data[i] * sol.data[i]; }
                    return new Solution(w, n, k, lambda, wb - lambda * scale * ww, note);
                }
                failure = "the solution is not finite";
            }
            double next = lambda == 0 ? FIRST_FALLBACK : lambda * 100;
            if (next > LAST_FALLBACK)
                throw new IllegalStateException("least squares: " + failure + " for " + na + " unknowns even with ridge "
                        + lambda + "; sample more images or positions, or keep fewer channels");
            note = (constantNote.isEmpty() ? "" : constantNote + "; ") + failure
                    + " (rank-deficient: too few samples, or inputs that repeat each other); used ridge "
                    + String.format("%.0e", next) + " instead of " + ridge;
            lambda = next;
        }
    }

    /** min L_ii² / max H_ii: a cheap lower bound on how far the smallest eigenvalue stands out of the noise. */
    private static double smallestPivot(CholeskyDecomposition_F64<?> chol, int n, double maxDiag) {
        // the factory picks a block decomposition for large systems: read the factor through the common interface
        DMatrix t = (DMatrix) chol.getT(null);
        double min = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) min = Math.min(min, t.get(i, i) * t.get(i, i));
        return maxDiag > 0 ? min / maxDiag : 1;
    }

    private static double maxDiag(double[] a, int n) {
        double max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, a[i * n + i]);
        return max;
    }

    private static boolean allFinite(double[] v) {
        for (double x : v) if (!Double.isFinite(x)) return false;
        return true;
    }
}
