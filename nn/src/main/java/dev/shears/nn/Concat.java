package dev.shears.nn;

import dev.shears.core.ShapeOps;
import dev.shears.core.Tensor;

import java.util.List;

/** Concatenation of its inputs along one dimension, torch.cat (dim 1: channels of [N,C,H,W]). */
public final class Concat extends Module implements MultiInput {
    private final int dim;

    public Concat(int dim) {
        if (dim < 0) throw new IllegalArgumentException("Concat: dimension must be >= 0, got " + dim);
        this.dim = dim;
    }

    public int dim() { return dim; }

    @Override public Tensor forward(List<Tensor> inputs) { return ShapeOps.concat(dim, inputs.toArray(Tensor[]::new)); }

    @Override public Tensor forward(Tensor x) { return forward(List.of(x)); }

    @Override public String describe() { return "Concat(dim=" + dim + ")"; }
}
