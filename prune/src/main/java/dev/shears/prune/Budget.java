package dev.shears.prune;

import java.util.Locale;

/**
 * What a pruned model may cost at most: a fraction of the unpruned model's FLOPs or parameters, or a latency in
 * milliseconds for one batch of {@code batch} images, measured on this machine. A budget is met from below: the
 * pruned model never costs more than asked.
 *
 * @param value the fraction to keep, in (0, 1], for {@link Kind#FLOPS} and {@link Kind#PARAMS}; milliseconds for
 *              {@link Kind#LATENCY}
 * @param batch the batch size a latency is measured at (for the other kinds: the batch the report's latencies are measured at)
 */
public record Budget(Kind kind, double value, int batch) {
    public enum Kind { FLOPS, PARAMS, LATENCY }

    public Budget {
        if (kind != Kind.LATENCY && !(value > 0 && value <= 1))
            throw new IllegalArgumentException("a " + kind.name().toLowerCase(Locale.ROOT) + " budget is the fraction to keep, in (0, 1], got " + value);
        if (kind == Kind.LATENCY && !(value > 0 && Double.isFinite(value)))
            throw new IllegalArgumentException("a latency budget is a positive number of milliseconds, got " + value);
        if (batch < 1) throw new IllegalArgumentException("the latency batch must be at least 1, got " + batch);
    }

    /** The batch size latencies are measured at unless asked otherwise. */
    public static final int DEFAULT_BATCH = 64;

    public static Budget flops(double fraction) { return new Budget(Kind.FLOPS, fraction, DEFAULT_BATCH); }
    public static Budget params(double fraction) { return new Budget(Kind.PARAMS, fraction, DEFAULT_BATCH); }
    public static Budget latency(double millis, int batch) { return new Budget(Kind.LATENCY, millis, batch); }

    /** "25% of the FLOPs", "40% of the parameters", "2.500 ms at batch 64". */
    public String describe() {
        return switch (kind) {
            case FLOPS -> String.format(Locale.ROOT, "%s%% of the FLOPs", fmt(100 * value));
            case PARAMS -> String.format(Locale.ROOT, "%s%% of the parameters", fmt(100 * value));
            case LATENCY -> String.format(Locale.ROOT, "%.3f ms at batch %d", value, batch);
        };
    }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.2f", v); }
}
