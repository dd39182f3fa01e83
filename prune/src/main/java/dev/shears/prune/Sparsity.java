package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Module;

import java.util.ArrayList;
import java.util.List;

/**
 * Sparsity-inducing L1 penalties for training before pruning: λ·Σ|θ| over a set of tensors — every BatchNorm's γ
 * (Network Slimming) or every conv weight (the L1 filter-pruning variant). |θ| has no derivative at 0; the
 * subgradient λ·sign(θ) (0 at 0) is what both forms below use, as PyTorch's abs does.
 *
 * <p>Each step shrinks θ by lr·λ at most, so small λ barely moves γ in a few epochs (λ = 1e-3 with lr 0.01 is
 * 1e-5 per step): the strength has to be measured, see the prune module's report.
 */
public final class Sparsity {
    private final float lambda;
    private final boolean convWeights;

    private Sparsity(float lambda, boolean convWeights) {
        if (!(lambda >= 0)) throw new IllegalArgumentException("sparsity λ must be >= 0, got " + lambda);
        this.lambda = lambda;
        this.convWeights = convWeights;
    }

    /** λ·Σ|γ| over all BatchNorm2d scale factors. */
    public static Sparsity bnScales(float lambda) { return new Sparsity(lambda, false); }

    /** λ·Σ|W| over all Conv2d weights. */
    public static Sparsity convWeights(float lambda) { return new Sparsity(lambda, true); }

    public float lambda() { return lambda; }

    /** The penalised tensors of {@code model}, as they are now (after pruning they are new tensors). */
    public List<Tensor> targets(Module model) {
        List<Tensor> out = new ArrayList<>();
        for (Module m : Layers.inForwardOrder(model).values()) {
            if (!convWeights && m instanceof BatchNorm2d bn) out.add(bn.weight());
            if (convWeights && m instanceof Conv2d c) out.add(c.weight());
        }
        return out;
    }

    /** λ·Σ|θ| as a scalar in the graph: add it to the loss and backward does the rest. */
    public Tensor penalty(Module model) {
        Tensor sum = null;
        for (Tensor t : targets(model)) {
            Tensor s = t.abs().sum();
            sum = sum == null ? s : sum.add(s);
        }
        return sum == null ? Tensor.scalar(0f) : sum.mul(lambda);
    }

    /**
     * grad += λ·sign(θ), after backward and before the optimiser step — the same update as {@link #penalty}
     * without building it into the graph (what the Network Slimming code does).
     */
    public void addSubgradient(Module model) {
        try (GradMode ignored = GradMode.off()) {
            for (Tensor t : targets(model)) {
                Tensor g = t.sign().mul(lambda);
                t.setGrad(t.grad() == null ? g : t.grad().add(g));
            }
        }
    }
}
