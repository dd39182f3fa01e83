package dev.shears.core;

/**
 * Sizes of one 2-d pooling: x [N,C,H,W] → y [N,C,P,Q] with an R×S window, P = (H + 2·padH − R) / strideH + 1
 * (floor: PyTorch's ceil_mode false). For max-pooling padded positions count as −∞ (never chosen); for
 * average pooling they count as 0, in the divisor or not (count_include_pad), as in PyTorch.
 */
public record Pool2dShape(int n, int c, int h, int w, int r, int s, int strideH, int strideW, int padH, int padW) {

    public Pool2dShape {
        if (n < 1 || c < 1 || h < 1 || w < 1 || r < 1 || s < 1 || strideH < 1 || strideW < 1 || padH < 0 || padW < 0)
            throw new IllegalArgumentException("pool2d: sizes and strides must be positive, padding >= 0, got " + this);
        if (padH > r / 2 || padW > s / 2)
            throw new IllegalArgumentException("pool2d: padding must be at most half the window (as in PyTorch), got " + this);
        if (h + 2 * padH < r || w + 2 * padW < s)
            throw new IllegalArgumentException("pool2d: window " + r + "x" + s + " is larger than the padded input");
    }

    public int p() { return (h + 2 * padH - r) / strideH + 1; }
    public int q() { return (w + 2 * padW - s) / strideW + 1; }
    public int inputSize() { return n * c * h * w; }
    public int outputSize() { return n * c * p() * q(); }
}
