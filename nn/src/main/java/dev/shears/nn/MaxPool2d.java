package dev.shears.nn;

import dev.shears.core.ConvOps;
import dev.shears.core.Tensor;

/** Max-pooling with a square window; the stride defaults to the window, as in PyTorch. */
public final class MaxPool2d extends Module {
    private final int kernel, stride, padding;

    public MaxPool2d(int kernel) { this(kernel, kernel, 0); }

    public MaxPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    public int kernel() { return kernel; }
    public int stride() { return stride; }
    public int padding() { return padding; }

    @Override public Tensor forward(Tensor x) { return ConvOps.maxPool2d(x, kernel, stride, padding); }

    @Override public String describe() { return "MaxPool2d(kernel=" + kernel + ", stride=" + stride + ", padding=" + padding + ")"; }
}
