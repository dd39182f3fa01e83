package dev.shears.nn;

import dev.shears.core.Tensor;

import java.util.Random;

/**
 * Inverted dropout (PyTorch's Dropout): in training each element is zeroed with probability p and the rest
 * are scaled by 1/(1−p), so the expected value is unchanged and evaluation is the identity. The mask is
 * drawn on the host from this module's own generator (seeded: runs repeat) and multiplied in, so the
 * gradient is the same mask.
 */
public final class Dropout extends Module {
    private final float p;
    private final Random random;

    public Dropout(float p) { this(p, 0x5EED); }

    public Dropout(float p, long seed) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        this.p = p;
        this.random = new Random(seed);
    }

    public float p() { return p; }

    @Override
    public Tensor forward(Tensor x) {
        if (!isTraining() || p == 0f) return x;
        float keep = 1f / (1f - p);
        float[] mask = new float[x.size()];
        for (int i = 0; i < mask.length; i++) mask[i] = random.nextFloat() < p ? 0f : keep;
        return x.mul(Tensor.of(x.backend(), mask, x.shape()));
    }

    @Override public String describe() { return "Dropout(p=" + p + ")"; }
}
