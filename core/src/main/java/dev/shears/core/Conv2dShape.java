package dev.shears.core;

/**
 * Sizes of one 2-d convolution. Legend used in every conv kernel:
 * N batch, C input channels, H×W input size, K output channels (filters), R×S kernel size,
 * P×Q output size, G groups. Layouts: x [N,C,H,W], w [K,C/G,R,S], bias [K], y [N,K,P,Q].
 * P = (H + 2·padH − R) / strideH + 1, and likewise Q.
 *
 * <p>Groups (PyTorch's {@code groups}): the channels are split into G consecutive blocks; output channel k
 * belongs to group g = k / (K/G) and sees only input channels [g·C/G, (g+1)·C/G). G = 1 is the ordinary
 * convolution, G = C = K the depthwise one.
 */
public record Conv2dShape(int n, int c, int h, int w, int k, int r, int s,
                          int strideH, int strideW, int padH, int padW, int groups) {

    public Conv2dShape {
        if (n < 1 || c < 1 || h < 1 || w < 1 || k < 1 || r < 1 || s < 1)
            throw new IllegalArgumentException("conv2d: every size must be positive, got " + this);
        if (strideH < 1 || strideW < 1 || padH < 0 || padW < 0)
            throw new IllegalArgumentException("conv2d: stride must be >= 1 and padding >= 0, got " + this);
        if (h + 2 * padH < r || w + 2 * padW < s)
            throw new IllegalArgumentException("conv2d: kernel " + r + "x" + s + " is larger than the padded input "
                    + (h + 2 * padH) + "x" + (w + 2 * padW));
        if (groups < 1 || c % groups != 0 || k % groups != 0)
            throw new IllegalArgumentException("conv2d: groups " + groups + " must divide both the input channels " + c
                    + " and the output channels " + k);
    }

    /** An ordinary convolution (one group). */
    public Conv2dShape(int n, int c, int h, int w, int k, int r, int s, int strideH, int strideW, int padH, int padW) {
        this(n, c, h, w, k, r, s, strideH, strideW, padH, padW, 1);
    }

    public int p() { return (h + 2 * padH - r) / strideH + 1; }
    public int q() { return (w + 2 * padW - s) / strideW + 1; }

    /** Input channels per group: C/G, the weight's second dimension. */
    public int cPerGroup() { return c / groups; }
    /** Output channels per group: K/G. */
    public int kPerGroup() { return k / groups; }
    /** One input channel and one filter per group, with as many filters as channels (MobileNet's depthwise). */
    public boolean depthwise() { return groups == c && groups == k; }

    public int inputSize() { return n * c * h * w; }
    public int weightSize() { return k * cPerGroup() * r * s; }
    public int outputSize() { return n * k * p() * q(); }

    /** Multiply-accumulates of the forward pass (FLOPs are twice this). */
    public long macs() { return (long) n * k * p() * q() * cPerGroup() * r * s; }
}
