package dev.shears.nn.optim;

import dev.shears.core.Backend;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;

import java.util.List;

/**
 * Stochastic gradient descent exactly as torch.optim.SGD (learning rate, momentum, dampening, weight decay,
 * Nesterov); the update itself is the backend's {@code sgdStep}. An optimiser belongs to one set of
 * parameter tensors: after pruning swaps in smaller tensors, build a new one (the mistake the pruning text
 * makes is to keep stepping the old one, whose momentum refers to tensors that no longer exist).
 */
public final class SGD {
    private final List<Tensor> params;
    private final Storage[] momentum;
    private float lr;
    private final float mom, dampening, weightDecay;
    private final boolean nesterov;
    private final boolean[] started;

    public SGD(List<Tensor> params, float lr, float momentum, float weightDecay) {
        this(params, lr, momentum, 0f, weightDecay, false);
    }

    public SGD(List<Tensor> params, float lr, float momentum, float dampening, float weightDecay, boolean nesterov) {
        requireFiniteNonNegative("lr", lr);
        requireFiniteNonNegative("momentum", momentum);
        requireFiniteNonNegative("weight decay", weightDecay);
        if (!Float.isFinite(dampening)) throw new IllegalArgumentException("SGD: dampening must be finite, got " + dampening);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new IllegalArgumentException("SGD: Nesterov momentum requires a momentum and zero dampening");
        this.params = List.copyOf(params);
        this.lr = lr;
        this.mom = momentum;
        this.dampening = dampening;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        // allocated here, outside any training step's TensorScope, so they live as long as the optimiser
        this.momentum = new Storage[this.params.size()];
        this.started = new boolean[this.params.size()];
        if (momentum > 0)
            for (int i = 0; i < this.params.size(); i++) this.momentum[i] = this.params.get(i).backend().allocate(this.params.get(i).size());
    }

    /** Updates every parameter that has a gradient; parameters without one are left alone, as in PyTorch. */
    public void step() {
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p.grad() == null) continue;
            Backend b = p.backend();
            // PyTorch starts a parameter's momentum buffer at its first gradient, not at the optimiser's first step
            b.sgdStep(p.size(), lr, mom, dampening, weightDecay, nesterov, !started[i], p.storage(), p.grad().storage(), momentum[i]);
            started[i] = true;
        }
    }

    public void zeroGrad() { params.forEach(Tensor::zeroGrad); }

    public float lr() { return lr; }

    public void setLr(float lr) {
        requireFiniteNonNegative("lr", lr);
        this.lr = lr;
    }

    /** As PyTorch's checks ("Invalid learning rate: nan"), written so that NaN fails; infinity fails too. */
    private static void requireFiniteNonNegative(String what, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) throw new IllegalArgumentException("SGD: " + what + " must be finite and >= 0, got " + v);
    }

    public List<Tensor> params() { return params; }

    public float momentum() { return mom; }

    public float dampening() { return dampening; }

    public float weightDecay() { return weightDecay; }

    public boolean nesterov() { return nesterov; }

    /**
     * Parameter {@code i}'s momentum buffer as host floats, or null while it has none (no momentum, or no
     * gradient seen yet: PyTorch's {@code state[p]} has no {@code momentum_buffer} then either). For checkpoints.
     */
    public float[] momentumBuffer(int i) {
        return started[i] ? params.get(i).backend().download(momentum[i]) : null;
    }

    /**
     * Restores parameter {@code i}'s momentum buffer, as saved by {@link #momentumBuffer}: the next step
     * continues from it instead of starting the buffer at the gradient. For resuming from a checkpoint.
     */
    public void setMomentumBuffer(int i, float[] values) {
        Tensor p = params.get(i);
        if (momentum[i] == null) throw new IllegalArgumentException("SGD: no momentum buffers (momentum is 0)");
        if (values.length != p.size())
            throw new IllegalArgumentException("SGD: momentum buffer of parameter " + i + " has " + values.length
                    + " values, the parameter has " + p.size());
        try (Storage s = p.backend().upload(values)) {
            p.backend().copy(values.length, s, momentum[i]);
        }
        started[i] = true;
    }
}
