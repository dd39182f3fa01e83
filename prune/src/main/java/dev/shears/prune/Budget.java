package dev.shears.prune;

import java.util.Locale;

/**
 * What a pruned model may cost at most: a fraction of the unpruned model's FLOPs or parameters, or a latency in
 * milliseconds for one batch of {@code batch} images, measured on this machine — given in milliseconds, or as a share
 * of the unpruned model's latency measured in the same run ({@link #latencyShare}). A budget is met from below: the
 * pruned model never costs more than asked.
 *
 * @param value the fraction to keep, in (0, 1], for {@link Kind#FLOPS} and {@link Kind#PARAMS}; milliseconds for
 *              {@link Kind#LATENCY} (NaN for a share not yet {@linkplain #resolve resolved})
 * @param batch the batch size a latency is measured at (for the other kinds: the batch the report's latencies are measured at)
 * @param share a latency budget's share of the unpruned model's latency, in (0, 1]; NaN when given in milliseconds
 *              and for the other kinds
 */
public record Budget(Kind kind, double value, int batch, double share) {
    public enum Kind { FLOPS, PARAMS, LATENCY }

    public Budget {
        if (kind != Kind.LATENCY && !(value > 0 && value <= 1))
            throw new IllegalArgumentException("a " + kind.name().toLowerCase(Locale.ROOT) + " budget is the fraction to keep, in (0, 1], got " + value);
        if (kind != Kind.LATENCY && !Double.isNaN(share))
            throw new IllegalArgumentException("only a latency budget is a share of the unpruned latency, got a " + kind.name().toLowerCase(Locale.ROOT) + " budget");
        if (kind == Kind.LATENCY && !Double.isNaN(share) && !(share > 0 && share <= 1))
            throw new IllegalArgumentException("a latency budget's share of the unpruned latency is in (0, 1] (0% to 100%), got " + share);
        boolean shareToResolve = kind == Kind.LATENCY && Double.isNaN(value) && !Double.isNaN(share);
        if (kind == Kind.LATENCY && !shareToResolve && !(value > 0 && Double.isFinite(value)))
            throw new IllegalArgumentException("a latency budget is a positive number of milliseconds, got " + value);
        if (batch < 1) throw new IllegalArgumentException("the latency batch must be at least 1, got " + batch);
    }

    /** The batch size latencies are measured at unless asked otherwise. */
    public static final int DEFAULT_BATCH = 64;

    public static Budget flops(double fraction) { return new Budget(Kind.FLOPS, fraction, DEFAULT_BATCH, Double.NaN); }
    public static Budget params(double fraction) { return new Budget(Kind.PARAMS, fraction, DEFAULT_BATCH, Double.NaN); }
    public static Budget latency(double millis, int batch) { return new Budget(Kind.LATENCY, millis, batch, Double.NaN); }

    /**
     * A latency budget as a share of the unpruned model's latency at {@code batch} ("half the latency"), in milliseconds
     * once {@linkplain #resolve resolved} against that latency as the run measures it.
     */
    public static Budget latencyShare(double share, int batch) { return new Budget(Kind.LATENCY, Double.NaN, batch, share); }

    /** Whether this is a share of the unpruned latency still to be {@linkplain #resolve resolved} into milliseconds. */
    public boolean unresolved() { return Double.isNaN(value); }

    /** A share's milliseconds: {@code share · unprunedMillis}; any other budget as it is. */
    public Budget resolve(double unprunedMillis) {
        if (!unresolved()) return this;
        return new Budget(kind, share * unprunedMillis, batch, share);
    }

    /** "25% of the FLOPs", "40% of the parameters", "2.500 ms at batch 64", "1.312 ms at batch 64 (50% of the unpruned 2.624 ms)". */
    public String describe() {
        return switch (kind) {
            case FLOPS -> String.format(Locale.ROOT, "%s%% of the FLOPs", fmt(100 * value));
            case PARAMS -> String.format(Locale.ROOT, "%s%% of the parameters", fmt(100 * value));
            case LATENCY -> Double.isNaN(share) ? String.format(Locale.ROOT, "%.3f ms at batch %d", value, batch)
                    : unresolved() ? String.format(Locale.ROOT, "%s%% of the unpruned latency at batch %d", fmt(100 * share), batch)
                    : String.format(Locale.ROOT, "%.3f ms at batch %d (%s%% of the unpruned %.3f ms)", value, batch, fmt(100 * share), value / share);
        };
    }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.2f", v); }
}
