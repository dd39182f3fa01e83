package dev.shears.prune;

/** How channels are scored. */
public enum Method {
    /** Network Slimming (Liu et al. 2017): |γ| of the BatchNorm after each conv; groups without one are left alone. */
    SLIM,
    /**
     * L1-norm filter pruning (Li et al. 2017): Σ|W| of each conv filter; Linear layers are left alone unless
     * {@link Pruner#includeLinear} asks for them too.
     */
    L1
}
