package dev.shears.core;

import java.util.Arrays;

/** Batch normalisation over the channels of [N,C,H,W], PyTorch's BatchNorm2d semantics. */
public final class NormOps {
    private NormOps() {}

    /**
     * In training, normalises with the batch statistics and updates {@code runningMean}/{@code runningVar} in
     * place (momentum as in PyTorch: new = (1−m)·old + m·batch, variance unbiased); in evaluation uses them.
     * Gradients flow to x, gamma and beta.
     */
    public static Tensor batchNorm2d(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                     boolean training, float momentum, float eps) {
        return batchNorm2d(x, gamma, beta, runningMean, runningVar, training, momentum, eps, false);
    }

    /**
     * max(batchNorm2d(x, ...), 0) as one op: the backend applies the ReLU while it writes the normalised values,
     * and backward takes the ReLU's mask from the output ({@link Backend#batchNorm2dReluForward}). Same values
     * and gradients as {@code batchNorm2d(...).relu()}, two passes over the maps fewer in training.
     */
    public static Tensor batchNorm2dRelu(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         boolean training, float momentum, float eps) {
        return batchNorm2d(x, gamma, beta, runningMean, runningVar, training, momentum, eps, true);
    }

    /**
     * maxPool2d(batchNorm2dRelu(x, ...), kernel, stride, padding) as one op: the same values and gradients, but
     * backward routes the pooled gradient through the pool and the BN-ReLU in one backend call
     * ({@link Backend#batchNorm2dReluMaxPoolBackward}), so the gradient of the full-size maps need not be stored
     * and then read twice. Without a gradient to record it runs the two ops.
     */
    public static Tensor batchNorm2dReluMaxPool(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                boolean training, float momentum, float eps, int kernel, int stride, int padding) {
        if (!GradMode.isEnabled() || !(x.requiresGrad() || gamma.requiresGrad() || beta.requiresGrad()))
            return ConvOps.maxPool2d(batchNorm2dRelu(x, gamma, beta, runningMean, runningVar, training, momentum, eps),
                    kernel, stride, padding);
        String op = "batch_norm2d_relu_max_pool2d";
        Shapes.requireRank(op, "input", x, 4);
        Pool2dShape p = new Pool2dShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), kernel, kernel, stride, stride, padding, padding);
        Backend b = x.backend();
        Tensor out = Tensor.output(b, p.n(), p.c(), p.p(), p.q());
        Forward f = forward(op, x, gamma, beta, runningMean, runningVar, training, momentum, eps, true, p, out);
        Storage argmax = f.argmax;
        return Tensor.record(op, out, g -> {
            Tensor dx = Tensor.output(b, x.shape()), dg = Tensor.output(b, p.c()), dbeta = Tensor.output(b, p.c());
            b.batchNorm2dReluMaxPoolBackward(p, training, x.storage(), f.y.storage(), g.storage(), argmax, gamma.storage(),
                    f.mean.storage(), f.invStd.storage(), dx.storage(), dg.storage(), dbeta.storage());
            argmax.close();
            return new Tensor[]{dx, dg, dbeta};
        }, x, gamma, beta);
    }

    private static Tensor batchNorm2d(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                      boolean training, float momentum, float eps, boolean relu) {
        String op = relu ? "batch_norm2d_relu" : "batch_norm2d";
        Forward f = forward(op, x, gamma, beta, runningMean, runningVar, training, momentum, eps, relu, null, null);
        Backend b = x.backend();
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor y = f.y, mean = f.mean, invStd = f.invStd;
        return Tensor.record(op, y, g -> {
            Tensor dx = Tensor.output(b, x.shape()), dg = Tensor.output(b, c), dbeta = Tensor.output(b, c);
            if (relu)
                b.batchNorm2dReluBackward(n, c, hw, training, x.storage(), y.storage(), g.storage(), gamma.storage(),
                        mean.storage(), invStd.storage(), dx.storage(), dg.storage(), dbeta.storage());
            else
                b.batchNorm2dBackward(n, c, hw, training, x.storage(), g.storage(), gamma.storage(), mean.storage(),
                        invStd.storage(), dx.storage(), dg.storage(), dbeta.storage());
            return new Tensor[]{dx, dg, dbeta};
        }, x, gamma, beta);
    }

    /**
     * The forward's output and what backward needs of it: the statistics actually used, never recomputed; with a
     * pool, the pool's arg-max (its output is the caller's).
     */
    private record Forward(Tensor y, Tensor mean, Tensor invStd, Storage argmax) {}

    /** BN (with relu, BN-ReLU; with {@code pool}, BN-ReLU then the pool into {@code out}) after checking the shapes. */
    private static Forward forward(String op, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                   boolean training, float momentum, float eps, boolean relu, Pool2dShape pool, Tensor out) {
        Shapes.requireRank(op, "input", x, 4);
        Shapes.requireSameBackend(op, x, gamma, beta, runningMean, runningVar);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        for (Tensor t : new Tensor[]{gamma, beta, runningMean, runningVar})
            if (t.rank() != 1 || t.dim(0) != c)
                throw new IllegalArgumentException(op + ": input " + Arrays.toString(x.shape()) + " has " + c
                        + " channels but a per-channel tensor has shape " + Arrays.toString(t.shape()));
        if (training && n * hw < 2)
            throw new IllegalArgumentException(op + ": expected more than 1 value per channel when training, got input " + Arrays.toString(x.shape()));
        Backend b = x.backend();
        Tensor y = Tensor.output(b, x.shape());
        Tensor mean = Tensor.output(b, c), invStd = Tensor.output(b, c);
        Storage argmax = null;
        if (pool != null)
            argmax = b.batchNorm2dReluMaxPoolForward(pool, training, momentum, eps, x.storage(), gamma.storage(), beta.storage(),
                    runningMean.storage(), runningVar.storage(), y.storage(), mean.storage(), invStd.storage(), out.storage());
        else if (relu)
            b.batchNorm2dReluForward(n, c, hw, training, momentum, eps, x.storage(), gamma.storage(), beta.storage(),
                    runningMean.storage(), runningVar.storage(), y.storage(), mean.storage(), invStd.storage());
        else
            b.batchNorm2dForward(n, c, hw, training, momentum, eps, x.storage(), gamma.storage(), beta.storage(),
                    runningMean.storage(), runningVar.storage(), y.storage(), mean.storage(), invStd.storage());
        if (training) { runningMean.markModified(); runningVar.markModified(); }   // updated in place
        return new Forward(y, mean, invStd, argmax);
    }
}
