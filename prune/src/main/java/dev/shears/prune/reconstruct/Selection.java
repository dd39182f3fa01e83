package dev.shears.prune.reconstruct;

import java.util.Locale;

/** How a site's channels are chosen before its consumer is re-fitted. */
public enum Selection {
    /** LASSO on the channels' contributions to the consumer's output, λ raised until the count is met (He et al. 2017). */
    LASSO,
    /** Greedy removal of the channel whose loss hurts the reconstruction least (ThiNet, Luo et al. 2017). */
    GREEDY,
    /** |γ| of the BatchNorm after the producer (Network Slimming's importance). */
    GAMMA,
    /** Σ|W| of the producer's filter (Li et al. 2017). */
    L1;

    /** Parses "lasso", "greedy", "gamma" or "l1" (any case). */
    public static Selection parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown selection '" + s + "'; expected lasso, greedy, gamma or l1");
        }
    }

    public String cliName() { return name().toLowerCase(Locale.ROOT); }
}
