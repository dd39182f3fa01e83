package dev.shears.core;

import java.util.Arrays;

/** Matrix products through the backend's GEMM. */
public final class MatrixOps {
    private MatrixOps() {}

    /** [M,K]·[K,N] → [M,N]. */
    public static Tensor matmul(Tensor a, Tensor b) {
        return gemm("matmul", a, false, b, false);
    }

    /**
     * A fully connected layer as in PyTorch: y = x·Wᵀ + bias, with x [N, in], weight [out, in], bias [out]
     * (or null). The transpose is a GEMM flag, never a copy.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        Shapes.requireRank("linear", "input", x, 2);
        Shapes.requireRank("linear", "weight", weight, 2);
        if (x.dim(1) != weight.dim(1))
            throw new IllegalArgumentException("linear: input " + Arrays.toString(x.shape()) + " has " + x.dim(1)
                    + " features but weight " + Arrays.toString(weight.shape()) + " expects " + weight.dim(1));
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != weight.dim(0)))
            throw new IllegalArgumentException("linear: bias " + Arrays.toString(bias.shape()) + " for weight " + Arrays.toString(weight.shape()));
        if (bias != null && x.dim(0) == 1 && !Tensor.records(x, weight, bias)) {
            // one row and no gradient (inference at batch 1): the output starts as the bias and the GEMM adds
            // the product into it (beta = 1), one op and one tensor fewer than adding the bias afterwards, and
            // the same values up to rounding (with the CPU's SIMD dot products, the same bits). The separate add
            // took 0.4–0.6 µs of a pruned SimpleCNN's fc1 (128 × 735) at batch 1, 4.42–4.68 against 3.99–4.08.
            Shapes.requireSameBackend("linear", x, weight, bias);
            int n = weight.dim(0);
            Backend be = x.backend();
            Tensor y = new Tensor(be.allocateForOutput(n), 1, n);
            be.copy(n, bias.storage(), y.storage());
            be.gemm(false, true, 1, n, x.dim(1), 1f, x.storage(), weight.storage(), 1f, y.storage());
            return y;
        }
        Tensor y = gemm("linear", x, false, weight, true);
        return bias == null ? y : y.add(bias);
    }

    /** op(a)·op(b), with forward and backward as GEMMs of the stored (untransposed) operands. */
    static Tensor gemm(String op, Tensor a, boolean ta, Tensor b, boolean tb) {
        Shapes.requireRank(op, "left operand", a, 2);
        Shapes.requireRank(op, "right operand", b, 2);
        Shapes.requireSameBackend(op, a, b);
        int m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
        int kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
        if (k != kb)
            throw new IllegalArgumentException(op + ": inner dimensions differ: " + Arrays.toString(a.shape())
                    + (ta ? "ᵀ" : "") + " · " + Arrays.toString(b.shape()) + (tb ? "ᵀ" : "") + " (" + k + " vs " + kb + ")");
        Backend be = a.backend();
        Tensor c = Tensor.output(be, m, n);   // beta = 0: C's old contents are ignored
        be.gemm(ta, tb, m, n, k, 1f, a.storage(), b.storage(), 0f, c.storage());
        return Tensor.record(op, c, g -> {
            // C = op(A)·op(B):  dA = g·op(B)ᵀ (transposed back if A was), dB = op(A)ᵀ·g (likewise)
            Tensor da = a.requiresGrad() ? (ta ? product(b, tb, g, true) : product(g, false, b, !tb)) : null;
            Tensor db = b.requiresGrad() ? (tb ? product(g, true, a, ta) : product(a, !ta, g, false)) : null;
            return new Tensor[]{da, db};
        }, a, b);
    }

    private static Tensor product(Tensor a, boolean ta, Tensor b, boolean tb) {
        int m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? b.dim(0) : b.dim(1);
        Tensor c = Tensor.output(a.backend(), m, n);
        a.backend().gemm(ta, tb, m, n, k, 1f, a.storage(), b.storage(), 0f, c.storage());
        return c;
    }
}
