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

    private static Tensor batchNorm2d(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                      boolean training, float momentum, float eps, boolean relu) {
        String op = relu ? "batch_norm2d_relu" : "batch_norm2d";
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
        // saved for backward: the statistics actually used, so backward never recomputes them
        Tensor mean = Tensor.output(b, c), invStd = Tensor.output(b, c);
        if (relu)
            b.batchNorm2dReluForward(n, c, hw, training, momentum, eps, x.storage(), gamma.storage(), beta.storage(),
                    runningMean.storage(), runningVar.storage(), y.storage(), mean.storage(), invStd.storage());
        else
            b.batchNorm2dForward(n, c, hw, training, momentum, eps, x.storage(), gamma.storage(), beta.storage(),
                    runningMean.storage(), runningVar.storage(), y.storage(), mean.storage(), invStd.storage());
        if (training) { runningMean.markModified(); runningVar.markModified(); }   // updated in place
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
}
