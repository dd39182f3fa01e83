package dev.shears.core;

import java.util.Arrays;

/** 2-d convolution and max-pooling over [N,C,H,W] tensors (layouts in {@link Conv2dShape}). */
public final class ConvOps {
    private ConvOps() {}

    /** y = conv2d(x, weight) + bias, weight [K,C,R,S], bias [K] or null; PyTorch's cross-correlation. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(x, weight, bias, stride, padding, 1);
    }

    /**
     * The grouped convolution (PyTorch's {@code groups}): weight [K, C/G, R, S]; output channel k sees input
     * channels of its group only ({@link Conv2dShape}). G = C = K is the depthwise convolution.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int groups) {
        Conv2dShape s = convShape(x, weight, bias, stride, padding, groups);
        Backend b = x.backend();
        Tensor y = new Tensor(b.allocateForOutput(s.outputSize()), s.n(), s.k(), s.p(), s.q());   // every kernel writes all of y
        b.conv2dForward(s, x.storage(), weight.storage(), bias == null ? null : bias.storage(), y.storage());
        return Tensor.record("conv2d", y, g -> {
            // forward saved nothing but its inputs: dx needs the weight, dw needs the input. The backward
            // kernels overwrite dx, dw and db, so none of them is zeroed first
            Tensor dx = null, dw = null, db = null;
            if (x.requiresGrad()) {
                dx = Tensor.output(b, x.shape());
                b.conv2dBackwardData(s, g.storage(), weight.storage(), dx.storage());
            }
            if (weight.requiresGrad() || (bias != null && bias.requiresGrad())) {
                dw = Tensor.output(b, weight.shape());
                db = bias == null ? null : Tensor.output(b, bias.shape());
                b.conv2dBackwardWeight(s, x.storage(), g.storage(), dw.storage(), db == null ? null : db.storage());
            }
            return new Tensor[]{dx, dw, db};
        }, x, weight, bias);
    }

    /**
     * maxPool2d(conv2d(x, weight, bias, stride, padding), kernel, poolStride, poolPadding), then with
     * {@code relu} its ReLU (equal to pooling the convolution's ReLU), for inference only: no gradient is
     * recorded, so it refuses inputs that require one while gradients are on. The backend may skip writing
     * the convolution's full-size output ({@link Backend#conv2dMaxPool2dForward}).
     */
    public static Tensor conv2dMaxPool2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding,
                                         int kernel, int poolStride, int poolPadding, boolean relu) {
        if (Tensor.records(x, weight, bias))
            throw new IllegalStateException("conv2dMaxPool2d records no gradient: call it with gradients off");
        Conv2dShape s = convShape(x, weight, bias, stride, padding, 1);
        Pool2dShape p = new Pool2dShape(s.n(), s.k(), s.p(), s.q(), kernel, kernel, poolStride, poolStride, poolPadding, poolPadding);
        Backend b = x.backend();
        Tensor y = new Tensor(b.allocateForOutput(p.outputSize()), p.n(), p.c(), p.p(), p.q());
        b.conv2dMaxPool2dForward(s, p, relu, x.storage(), weight.storage(), bias == null ? null : bias.storage(), y.storage());
        return y;
    }

    /** The checks both convolutions make, and their shape. */
    private static Conv2dShape convShape(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int groups) {
        Shapes.requireRank("conv2d", "input", x, 4);
        Shapes.requireRank("conv2d", "weight", weight, 4);
        Shapes.requireSameBackend("conv2d", x, weight, bias);
        if (groups < 1 || x.dim(1) != weight.dim(1) * groups)
            throw new IllegalArgumentException("conv2d: input " + Arrays.toString(x.shape()) + " has " + x.dim(1)
                    + " channels but weight " + Arrays.toString(weight.shape()) + " with " + groups + " group(s) expects "
                    + weight.dim(1) * groups);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != weight.dim(0)))
            throw new IllegalArgumentException("conv2d: bias " + Arrays.toString(bias.shape()) + " for weight " + Arrays.toString(weight.shape()));
        return new Conv2dShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), weight.dim(0), weight.dim(2), weight.dim(3),
                stride, stride, padding, padding, groups);
    }

    /** Max-pooling with a square window; {@code stride} defaults to the window in PyTorch, pass it explicitly. */
    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) {
        Shapes.requireRank("max_pool2d", "input", x, 4);
        Pool2dShape p = new Pool2dShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), kernel, kernel, stride, stride, padding, padding);
        Backend b = x.backend();
        if (!GradMode.isEnabled() || !x.requiresGrad()) {
            // no backward: no arg-max; every output is some window's max, so y need not start at zero
            Tensor y = new Tensor(b.allocateForOutput(p.outputSize()), p.n(), p.c(), p.p(), p.q());
            b.maxPool2dForwardValues(p, x.storage(), y.storage());
            return y;
        }
        Tensor y = Tensor.output(b, p.n(), p.c(), p.p(), p.q());   // both kernels write every element
        Storage argmax = b.maxPool2dForward(p, x.storage(), y.storage());
        return Tensor.record("max_pool2d", y, g -> {
            Tensor dx = Tensor.output(b, x.shape());
            b.maxPool2dBackward(p, g.storage(), argmax, dx.storage());
            argmax.close();
            return new Tensor[]{dx};
        }, x);
    }

    /**
     * Average pooling with a square window (PyTorch's AvgPool2d with ceil_mode false): each output is its
     * window's sum divided by kernel² when {@code countIncludePad}, else by its in-bounds element count.
     */
    public static Tensor avgPool2d(Tensor x, int kernel, int stride, int padding, boolean countIncludePad) {
        Shapes.requireRank("avg_pool2d", "input", x, 4);
        return avgPool2d("avg_pool2d", x, new Pool2dShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), kernel, kernel, stride, stride,
                padding, padding), countIncludePad);
    }

    /** [N,C,H,W] → [N,C,1,1], the mean of each plane: AdaptiveAvgPool2d(1), ONNX's GlobalAveragePool. */
    public static Tensor globalAvgPool2d(Tensor x) {
        Shapes.requireRank("global_avg_pool2d", "input", x, 4);
        int h = x.dim(2), w = x.dim(3);
        return avgPool2d("global_avg_pool2d", x, new Pool2dShape(x.dim(0), x.dim(1), h, w, h, w, 1, 1, 0, 0), true);
    }

    private static Tensor avgPool2d(String op, Tensor x, Pool2dShape p, boolean countIncludePad) {
        Backend b = x.backend();
        Tensor y = new Tensor(b.allocateForOutput(p.outputSize()), p.n(), p.c(), p.p(), p.q());   // every output is written
        b.avgPool2dForward(p, countIncludePad, x.storage(), y.storage());
        return Tensor.record(op, y, g -> {
            Tensor dx = new Tensor(b.allocateForOutput(p.inputSize()), x.shape());               // overwritten
            b.avgPool2dBackward(p, countIncludePad, g.storage(), dx.storage());
            return new Tensor[]{dx};
        }, x);
    }
}
