package dev.shears.nn;

import dev.shears.core.ConvOps;
import dev.shears.core.Tensor;

import java.util.Random;

/** 2-d convolution, weight [out, in, k, k] and optional bias [out]; square kernel, stride and padding. */
public final class Conv2d extends Module {
    private final int stride, padding;
    /** The last BatchNorm folded into this layer for inference ({@link Inference}); kept while its inputs match. */
    BatchNormFold fold;

    public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias, Random init) {
        this.stride = stride;
        this.padding = padding;
        int fanIn = in * kernel * kernel;
        registerParameter("weight", Init.uniform(init, Init.defaultBound(fanIn), out, in, kernel, kernel));
        if (bias) registerParameter("bias", Init.uniform(init, Init.defaultBound(fanIn), out));
    }

    public Conv2d(int in, int out, int kernel, int padding, Random init) {
        this(in, out, kernel, 1, padding, true, init);
    }

    public Tensor weight() { return parameter("weight"); }

    public Tensor bias() { return hasParameter("bias") ? parameter("bias") : null; }

    public int inChannels() { return weight().dim(1); }
    public int outChannels() { return weight().dim(0); }
    public int kernel() { return weight().dim(2); }
    public int stride() { return stride; }
    public int padding() { return padding; }

    @Override
    public Tensor forward(Tensor x) { return ConvOps.conv2d(x, weight(), bias(), stride, padding); }

    @Override
    public String describe() {
        return "Conv2d(" + inChannels() + ", " + outChannels() + ", kernel=" + kernel() + ", stride=" + stride
                + ", padding=" + padding + (bias() == null ? ", bias=false" : "") + ")";
    }
}
