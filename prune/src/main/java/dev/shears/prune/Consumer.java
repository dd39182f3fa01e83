package dev.shears.prune;

/**
 * A layer that reads a group's channels as its inputs: a Conv2d (its input channels, {@code featuresPerChannel}
 * = 1) or a Linear (its input features; through a Flatten of [C, H, W], channel c owns the features
 * [c·H·W, (c+1)·H·W), so {@code featuresPerChannel} = H·W; after global pooling it is 1). {@code offset}: where
 * the group's channel 0 sits among the consumer's input channels, non-zero when it reads a Concat.
 */
public record Consumer(String path, int featuresPerChannel, int offset) {
    public Consumer {
        if (featuresPerChannel < 1) throw new IllegalArgumentException("featuresPerChannel must be >= 1, got " + featuresPerChannel);
        if (offset < 0) throw new IllegalArgumentException("offset must be >= 0, got " + offset);
    }

    public Consumer(String path, int featuresPerChannel) { this(path, featuresPerChannel, 0); }

    /** The first input index (column of the weight) that the group's channel {@code c} owns. */
    public int firstFeature(int c) { return (offset + c) * featuresPerChannel; }
}
