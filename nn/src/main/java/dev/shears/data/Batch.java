package dev.shears.data;

/**
 * One mini-batch: {@code x} is n×1×rows×cols row-major (normalised like {@link Dataset#images()}),
 * {@code y} the n labels. Freshly allocated for every batch, so the caller may keep it.
 */
public record Batch(float[] x, int[] y, int n) {
}
