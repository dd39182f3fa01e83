package dev.shears.nn;

import dev.shears.core.Tensor;

/** [N, C, H, W] → [N, C·H·W]: channel c owns features [c·H·W, (c+1)·H·W), which pruning relies on. */
public final class Flatten extends Module {
    @Override public Tensor forward(Tensor x) { return x.flatten(1); }
    @Override public String describe() { return "Flatten()"; }
}
