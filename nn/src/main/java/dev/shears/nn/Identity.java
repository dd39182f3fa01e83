package dev.shears.nn;

import dev.shears.core.Tensor;

/** Returns its input unchanged (the same tensor): a placeholder, or a residual's shortcut as a named node. */
public final class Identity extends Module {
    @Override public Tensor forward(Tensor x) { return x; }
    @Override public String describe() { return "Identity()"; }
}
