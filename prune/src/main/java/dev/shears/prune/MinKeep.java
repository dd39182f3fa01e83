package dev.shears.prune;

/**
 * The fewest channels a group may keep: max(1, count, ⌈fraction·n⌉), at most n. Never zero — a group with no
 * channel cuts the network in two (the Network Slimming paper's global threshold does that to a layer on MNIST).
 */
public record MinKeep(int count, double fraction) {
    public static final MinKeep ONE = new MinKeep(1, 0);

    public MinKeep {
        if (count < 0 || !(fraction >= 0 && fraction <= 1))
            throw new IllegalArgumentException("MinKeep: count >= 0 and fraction in [0, 1], got " + count + ", " + fraction);
    }

    public static MinKeep count(int n) { return new MinKeep(n, 0); }
    public static MinKeep fraction(double f) { return new MinKeep(1, f); }

    @Override
    public String toString() {
        return fraction > 0 ? "max(" + Math.max(1, count) + ", " + fraction + "·n)" : Math.max(1, count) + " per layer";
    }

    public int of(int channels) {
        return Math.min(channels, Math.max(1, Math.max(count, (int) Math.ceil(fraction * channels - 1e-9))));
    }
}
