package dev.shears.prune;

/**
 * A layer that reads a group's channels as its inputs: a Conv2d (its input channels, {@code featuresPerChannel}
 * = 1) or a Linear (its input features; through a Flatten of [C, H, W], channel c owns the features
 * [c·H·W, (c+1)·H·W), so {@code featuresPerChannel} = H·W).
 */
public record Consumer(String path, int featuresPerChannel) {
    public Consumer {
        if (featuresPerChannel < 1) throw new IllegalArgumentException("featuresPerChannel must be >= 1, got " + featuresPerChannel);
    }

    /** The input indices (columns of the weight) that channel {@code c} owns. */
    public int firstFeature(int c) { return c * featuresPerChannel; }
}
