package dev.shears.nn;

import dev.shears.core.ConvOps;
import dev.shears.core.Tensor;

import java.util.Random;

/**
 * 2-d convolution, weight [out, in/groups, k, k] and optional bias [out]; square kernel, stride and padding.
 * With groups G the channels split into G blocks convolved separately (G = in = out: depthwise).
 */
public final class Conv2d extends Module {
    private final int stride, padding, groups;
    /** The last BatchNorm folded into this layer for inference ({@link Inference}); kept while its inputs match. */
    BatchNormFold fold;

    public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias, Random init) {
        this(in, out, kernel, stride, padding, 1, bias, init);
    }

    public Conv2d(int in, int out, int kernel, int stride, int padding, int groups, boolean bias, Random init) {
        if (groups < 1 || in % groups != 0 || out % groups != 0)
            throw new IllegalArgumentException("Conv2d: groups " + groups + " must divide in_channels " + in + " and out_channels " + out);
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        int fanIn = in / groups * kernel * kernel;
        registerParameter("weight", Init.uniform(init, Init.defaultBound(fanIn), out, in / groups, kernel, kernel));
        if (bias) registerParameter("bias", Init.uniform(init, Init.defaultBound(fanIn), out));
    }

    public Conv2d(int in, int out, int kernel, int padding, Random init) {
        this(in, out, kernel, 1, padding, true, init);
    }

    public Tensor weight() { return parameter("weight"); }

    public Tensor bias() { return hasParameter("bias") ? parameter("bias") : null; }

    /** Input channels: the weight's second dimension times the groups. */
    public int inChannels() { return weight().dim(1) * groups; }
    public int outChannels() { return weight().dim(0); }
    public int kernel() { return weight().dim(2); }
    public int stride() { return stride; }
    public int padding() { return padding; }
    public int groups() { return groups; }

    @Override
    public Tensor forward(Tensor x) { return ConvOps.conv2d(x, weight(), bias(), stride, padding, groups); }

    @Override
    public String describe() {
        return "Conv2d(" + inChannels() + ", " + outChannels() + ", kernel=" + kernel() + ", stride=" + stride
                + ", padding=" + padding + (groups == 1 ? "" : ", groups=" + groups) + (bias() == null ? ", bias=false" : "") + ")";
    }
}
