package dev.shears.prune;

/** Which channels to remove, given per-channel scores (lowest first). */
public sealed interface Criterion {
    /** Remove every channel whose score is below {@code value} (the mission's |γ| &lt; 0.01). */
    record Threshold(double value) implements Criterion {
        public Threshold {
            if (!(value >= 0) || Double.isInfinite(value))
                throw new IllegalArgumentException("a pruning threshold must be finite and >= 0, got " + value);
        }
    }
    /** Remove the lowest {@code ratio} of all channels of all groups together (the paper's global percentile). */
    record GlobalRatio(double ratio) implements Criterion {
        public GlobalRatio { checkRatio(ratio); }
    }
    /** Remove ⌊ratio·n⌋ channels from every group of n. */
    record PerLayerRatio(double ratio) implements Criterion {
        public PerLayerRatio { checkRatio(ratio); }
    }

    /** "threshold 0.01", "global ratio 0.5", "per-layer ratio 0.5". */
    default String describe() {
        return switch (this) {
            case Threshold t -> "threshold " + t.value();
            case GlobalRatio r -> "global ratio " + r.ratio();
            case PerLayerRatio r -> "per-layer ratio " + r.ratio();
        };
    }

    static Criterion threshold(double t) { return new Threshold(t); }
    static Criterion globalRatio(double r) { return new GlobalRatio(r); }
    static Criterion perLayerRatio(double r) { return new PerLayerRatio(r); }

    private static void checkRatio(double r) {
        if (!(r >= 0 && r < 1)) throw new IllegalArgumentException("a pruning ratio must be in [0, 1), got " + r);
    }
}
