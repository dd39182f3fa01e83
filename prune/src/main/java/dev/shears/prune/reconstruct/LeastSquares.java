package dev.shears.prune.reconstruct;

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
 * unknowns, a dead channel that is always 0, a border tap that padding keeps constant) is not returned
 * as NaN or huge weights: when Cholesky fails or reports a near-singular factor, the ridge is raised
 * (relative to the mean diagonal, so it is scale-free) until it succeeds, and {@link Solution#note} says so.
 */
public final class LeastSquares {
    /**
     * A Cholesky pivot L_ii² below this fraction of the largest diagonal of XᵀX is noise: the data are float
     * (7 digits), so a direction with so little variance carries no information, only rounding.
     */
    static final double MIN_PIVOT = 1e-9;
    private static final double FIRST_FALLBACK = 1e-10, LAST_FALLBACK = 1e-1;

    private LeastSquares() {}

    /**
     * @param w       N×K row-major: column k holds the weights of output k
     * @param ridge   the relative ridge actually used (λ / mean diagonal of XᵀX)
     * @param note    empty, or why the ridge differs from the one asked for
     */
    public record Solution(double[] w, int n, int k, double ridge, String note) {}

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
        double scale = 0;
        for (int i = 0; i < n; i++) scale += h[i * n + i];
        scale = scale > 0 ? scale / n : 1;   // all-zero inputs: any ridge gives W = 0, which is the right answer
        DMatrixRMaj bm = DMatrixRMaj.wrap(n, k, b.clone());
        String note = "";
        double lambda = ridge;
        while (true) {
            DMatrixRMaj a = DMatrixRMaj.wrap(n, n, h.clone());
            for (int i = 0; i < n; i++) a.data[i * n + i] += lambda * scale;
            double largest = maxDiag(a.data, n);   // before setA, which may factor in place
            LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_DDRM.chol(n);
            String failure = null;
            double pivot;
            if (!solver.setA(a)) failure = "XᵀX is not positive definite";
            else if ((pivot = smallestPivot(solver.getDecomposition(), n, largest)) < MIN_PIVOT)
                failure = "XᵀX is near-singular (smallest Cholesky pivot " + String.format("%.1e", pivot) + " of the largest diagonal)";
            if (failure == null) {
                DMatrixRMaj w = new DMatrixRMaj(n, k);
                solver.solve(bm, w);
                if (allFinite(w.data)) return new Solution(w.data, n, k, lambda, note);
                failure = "the solution is not finite";
            }
            double next = lambda == 0 ? FIRST_FALLBACK : lambda * 100;
            if (next > LAST_FALLBACK)
                throw new IllegalStateException("least squares: " + failure + " for " + n + " unknowns even with ridge "
                        + lambda + "; sample more images or positions, or keep fewer channels");
            note = failure + " (rank-deficient: too few samples, or constant/dead inputs); used ridge " + String.format("%.0e", next)
                    + " instead of " + ridge;
            lambda = next;
        }
    }

    /** min L_ii² / max H_ii: a cheap lower bound on how far the smallest eigenvalue stands out of the noise. */
    private static double smallestPivot(CholeskyDecomposition_F64<DMatrixRMaj> chol, int n, double maxDiag) {
        DMatrixRMaj t = chol.getT(null);
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
