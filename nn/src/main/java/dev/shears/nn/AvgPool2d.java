package dev.shears.nn;

import dev.shears.core.ConvOps;
import dev.shears.core.Tensor;

/**
 * Average pooling with a square window, PyTorch's AvgPool2d with ceil_mode false: with
 * {@code countIncludePad} (PyTorch's default) every window divides by kernel², padded zeros included;
 * otherwise by the number of input elements it covers.
 */
public final class AvgPool2d extends Module {
    private final int kernel, stride, padding;
    private final boolean countIncludePad;

    /** PyTorch's defaults: stride = kernel, no padding, count_include_pad true. */
    public AvgPool2d(int kernel) { this(kernel, kernel, 0, true); }

    public AvgPool2d(int kernel, int stride, int padding, boolean countIncludePad) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.countIncludePad = countIncludePad;
    }

    public int kernel() { return kernel; }
    public int stride() { return stride; }
    public int padding() { return padding; }
    public boolean countIncludePad() { return countIncludePad; }

    @Override public Tensor forward(Tensor x) { return ConvOps.avgPool2d(x, kernel, stride, padding, countIncludePad); }

    @Override public String describe() {
        return "AvgPool2d(kernel=" + kernel + ", stride=" + stride + ", padding=" + padding
                + (countIncludePad ? "" : ", count_include_pad=false") + ")";
    }
}
