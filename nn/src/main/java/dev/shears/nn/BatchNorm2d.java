package dev.shears.nn;

import dev.shears.core.NormOps;
import dev.shears.core.Tensor;

/**
 * Batch normalisation over channels with PyTorch's semantics: eps 1e-5, momentum 0.1, batch statistics in
 * training (updating the running ones, variance unbiased), running statistics in evaluation; γ = 1, β = 0.
 * {@code weight} is γ, the scale factor Network Slimming penalises.
 */
public final class BatchNorm2d extends Module {
    private final float eps, momentum;

    public BatchNorm2d(int channels) { this(channels, 1e-5f, 0.1f); }

    public BatchNorm2d(int channels, float eps, float momentum) {
        this.eps = eps;
        this.momentum = momentum;
        registerParameter("weight", Tensor.ones(channels));
        registerParameter("bias", Tensor.zeros(channels));
        registerBuffer("running_mean", Tensor.zeros(channels));
        registerBuffer("running_var", Tensor.ones(channels));
        registerBuffer("num_batches_tracked", Tensor.zeros());
    }

    public Tensor weight() { return parameter("weight"); }
    public Tensor bias() { return parameter("bias"); }
    public Tensor runningMean() { return buffer("running_mean"); }
    public Tensor runningVar() { return buffer("running_var"); }
    public int channels() { return weight().dim(0); }
    public float eps() { return eps; }
    public float momentum() { return momentum; }

    @Override
    public Tensor forward(Tensor x) { return forward(x, false); }

    /**
     * max(forward(x), 0) in one op ({@link NormOps#batchNorm2dRelu}): what {@link Sequential} runs for a
     * BatchNorm2d followed by a {@link ReLU}, with the same values and gradients.
     */
    public Tensor forwardRelu(Tensor x) { return forward(x, true); }

    /**
     * pool(max(forward(x), 0)) in one op ({@link NormOps#batchNorm2dReluMaxPool}): what {@link Sequential} runs for a
     * BatchNorm2d, a {@link ReLU} and a {@link MaxPool2d}, with the same values and gradients.
     */
    public Tensor forwardReluMaxPool(Tensor x, MaxPool2d pool) {
        countBatch();
        return NormOps.batchNorm2dReluMaxPool(x, weight(), bias(), runningMean(), runningVar(), isTraining(), momentum, eps,
                pool.kernel(), pool.stride(), pool.padding());
    }

    private Tensor forward(Tensor x, boolean relu) {
        countBatch();
        return relu ? NormOps.batchNorm2dRelu(x, weight(), bias(), runningMean(), runningVar(), isTraining(), momentum, eps)
                : NormOps.batchNorm2d(x, weight(), bias(), runningMean(), runningVar(), isTraining(), momentum, eps);
    }

    private void countBatch() {
        if (isTraining()) {
            // in place, on the device: no read-back, and nothing allocated inside the caller's TensorScope
            Tensor count = buffer("num_batches_tracked");
            count.backend().affine(1, 1f, 1f, count.storage(), count.storage());
            count.markModified();
        }
    }

    /**
     * {@code num_batches_tracked} may be absent from a state dict, as PyTorch's BatchNorm allows (state dicts
     * from before PyTorch 0.4.1 lack it); the current count then stays, as in PyTorch 2 (1.13 sets it to 0).
     * Nothing here reads it: with a momentum set, PyTorch only counts with it too.
     */
    @Override
    protected boolean optionalInStateDict(String name) { return name.equals("num_batches_tracked"); }

    @Override
    public String describe() { return "BatchNorm2d(" + channels() + ", eps=" + eps + ", momentum=" + momentum + ")"; }
}
