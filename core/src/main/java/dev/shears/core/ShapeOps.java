package dev.shears.core;

import java.util.Arrays;

/** Ops that move or reduce elements without arithmetic on them: reshape, permute, concatenation, sum. */
public final class ShapeOps {
    private ShapeOps() {}

    /** A view: same storage, new shape. One dimension may be −1 and is inferred. */
    public static Tensor reshape(Tensor x, int... newShape) {
        int[] shape = newShape.clone();
        int infer = -1, known = 1;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: only one dimension may be -1, got " + Arrays.toString(newShape));
                infer = d;
            } else known *= shape[d];
        }
        if (infer >= 0) {
            if (known == 0 || x.size() % known != 0)
                throw new IllegalArgumentException("reshape: cannot reshape " + Arrays.toString(x.shape()) + " to " + Arrays.toString(newShape));
            shape[infer] = x.size() / known;
        }
        if (Shapes.size(shape) != x.size())
            throw new IllegalArgumentException("reshape: " + Arrays.toString(x.shape()) + " (" + x.size() + " elements) to "
                    + Arrays.toString(newShape) + " (" + Shapes.size(shape) + " elements)");
        int[] original = x.shape();
        Tensor y = Tensor.view(x, shape);
        return Tensor.record("reshape", y, g -> new Tensor[]{g.reshape(original)}, x);
    }

    /** Keeps dimensions before {@code fromDim} and merges the rest: [N,C,H,W].flatten(1) is [N, C·H·W]. */
    public static Tensor flatten(Tensor x, int fromDim) {
        int[] s = x.shape();
        int[] out = Arrays.copyOf(s, fromDim + 1);
        out[fromDim] = 1;
        for (int d = fromDim; d < s.length; d++) out[fromDim] *= s[d];
        return reshape(x, out);
    }

    public static Tensor permute(Tensor x, int... perm) {
        int rank = x.rank();
        if (perm.length != rank)
            throw new IllegalArgumentException("permute: " + perm.length + " axes for shape " + Arrays.toString(x.shape()));
        int[] xs = x.shape(), ys = new int[rank], inverse = new int[rank];
        boolean[] used = new boolean[rank];
        for (int d = 0; d < rank; d++) {
            if (perm[d] < 0 || perm[d] >= rank || used[perm[d]])
                throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " is not a permutation of " + rank + " axes");
            used[perm[d]] = true;
            ys[d] = xs[perm[d]];
            inverse[perm[d]] = d;
        }
        Tensor y = Tensor.output(x.backend(), ys);
        x.backend().permute(xs, perm, x.storage(), y.storage());
        return Tensor.record("permute", y, g -> new Tensor[]{permute(g, inverse)}, x);
    }

    /** Sums down to {@code target}, a shape {@code x} broadcasts from (leading dimensions may be dropped). */
    public static Tensor sumTo(Tensor x, int... target) {
        int[] xs = x.shape();
        if (!Shapes.broadcastsTo(target, xs))
            throw new IllegalArgumentException("sumTo: shape " + Arrays.toString(xs) + " cannot be summed to " + Arrays.toString(target));
        int[] padded = Shapes.padLeft(target, xs.length);
        Tensor y = Tensor.output(x.backend(), target);
        x.backend().sumTo(xs, x.storage(), padded, y.storage());
        return Tensor.record("sum", y, g -> new Tensor[]{expand(g, xs)}, x);
    }

    /** Broadcasts {@code x} to {@code shape} (a copy): the backward of a sum. */
    public static Tensor expand(Tensor x, int... shape) {
        Tensor zeros = Tensor.zeros(x.backend(), shape);
        return x.add(zeros);
    }

    /**
     * Concatenation along {@code dim} (torch.cat): the inputs agree in every other dimension. Seen as
     * matrices [outer, inner_i] with outer the product of the dimensions before {@code dim} and inner_i the
     * product of the rest, input i fills columns [Σ_{j&lt;i} inner_j, +inner_i) of the output [outer, Σ inner]:
     * one strided copy each way ({@link Backend#copyStrided}), the backward slicing the gradient apart.
     */
    public static Tensor concat(int dim, Tensor... xs) {
        if (xs.length == 0) throw new IllegalArgumentException("concat: no inputs");
        int[] first = xs[0].shape();
        if (dim < 0 || dim >= first.length)
            throw new IllegalArgumentException("concat: dimension " + dim + " is out of range for shape " + Arrays.toString(first));
        Shapes.requireSameBackend("concat", xs);
        int[] out = first.clone();
        out[dim] = 0;
        for (Tensor x : xs) {
            int[] s = x.shape();
            boolean fits = s.length == first.length;
            for (int d = 0; fits && d < s.length; d++) fits = d == dim || s[d] == first[d];
            if (!fits)
                throw new IllegalArgumentException("concat along dimension " + dim + ": shape " + Arrays.toString(s)
                        + " does not match " + Arrays.toString(first) + " outside that dimension");
            out[dim] += s[dim];
        }
        int rows = 1;
        for (int d = 0; d < dim; d++) rows *= out[d];
        int outer = Math.max(rows, 1), total = Shapes.size(out) / outer;
        Backend b = xs[0].backend();
        Tensor y = new Tensor(b.allocateForOutput(Shapes.size(out)), out);   // the inputs' blocks cover it
        int[] offsets = new int[xs.length];
        for (int i = 0, at = 0; i < xs.length; i++) {
            int inner = xs[i].size() / outer;
            offsets[i] = at;
            if (xs[i].size() > 0) b.copyStrided(outer, inner, xs[i].storage(), 0, inner, y.storage(), at, total);
            at += inner;
        }
        return Tensor.record("concat", y, g -> {
            Tensor[] grads = new Tensor[xs.length];
            for (int i = 0; i < xs.length; i++) {
                if (!xs[i].requiresGrad()) continue;
                int inner = xs[i].size() / outer;
                grads[i] = new Tensor(b.allocateForOutput(xs[i].size()), xs[i].shape());
                if (xs[i].size() > 0) b.copyStrided(outer, inner, g.storage(), offsets[i], total, grads[i].storage(), 0, inner);
            }
            return grads;
        }, xs);
    }
}
