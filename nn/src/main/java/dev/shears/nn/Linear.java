package dev.shears.nn;

import dev.shears.core.MatrixOps;
import dev.shears.core.Tensor;

import java.util.Random;

/** y = x·Wᵀ + b with weight [out, in] and bias [out], PyTorch's layout. */
public final class Linear extends Module {

    public Linear(int in, int out, boolean bias, Random init) {
        registerParameter("weight", Init.uniform(init, Init.defaultBound(in), out, in));
        if (bias) registerParameter("bias", Init.uniform(init, Init.defaultBound(in), out));
    }

    public Linear(int in, int out, Random init) { this(in, out, true, init); }

    public Tensor weight() { return parameter("weight"); }
    public Tensor bias() { return hasParameter("bias") ? parameter("bias") : null; }
    public int inFeatures() { return weight().dim(1); }
    public int outFeatures() { return weight().dim(0); }

    @Override
    public Tensor forward(Tensor x) { return MatrixOps.linear(x, weight(), bias()); }

    @Override
    public String describe() { return "Linear(" + inFeatures() + ", " + outFeatures() + (bias() == null ? ", bias=false" : "") + ")"; }
}
