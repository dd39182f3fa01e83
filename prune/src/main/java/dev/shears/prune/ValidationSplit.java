package dev.shears.prune;

import dev.shears.data.Dataset;

import java.util.Arrays;
import java.util.Random;

/**
 * A validation set carved from the training data, for every pruning decision (sensitivity, budget search): the
 * test set stays for the final report. As with PyTorch's {@code random_split}, the validation images are held
 * out of fine-tuning too: {@link #fit()} is what fine-tuning trains on, {@link #validation()} never trains.
 *
 * <p>Which images: a permutation of 0..N-1 by {@code new Random(seed)} (Fisher–Yates); its first {@code size}
 * are the validation set, the rest (in their original order) the fitting set.
 */
public record ValidationSplit(Dataset fit, Dataset validation, int[] validationIndices) {

    /** The default share of the training images held out for validation. */
    public static final double DEFAULT_FRACTION = 0.1;

    /** {@link #DEFAULT_FRACTION} of {@code train}, at least one image. */
    public static ValidationSplit of(Dataset train, long seed) {
        return of(train, Math.max(1, (int) Math.round(DEFAULT_FRACTION * train.size())), seed);
    }

    public static ValidationSplit of(Dataset train, int size, long seed) {
        if (size < 1 || size >= train.size())
            throw new IllegalArgumentException("a validation split needs between 1 and " + (train.size() - 1)
                    + " of the " + train.size() + " training images, got " + size);
        int[] order = new int[train.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Random r = new Random(seed);
        for (int i = order.length - 1; i > 0; i--) { int j = r.nextInt(i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
        int[] val = Arrays.copyOf(order, size);
        int[] rest = Arrays.copyOfRange(order, size, order.length);
        Arrays.sort(val);
        Arrays.sort(rest);
        return new ValidationSplit(subset(train, rest, "fit"), subset(train, val, "validation"), val);
    }

    /** The images {@code indices} of {@code d}, in that order (copied). */
    public static Dataset subset(Dataset d, int[] indices, String what) {
        int px = d.imageSize();
        float[] images = new float[indices.length * px];
        int[] labels = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            System.arraycopy(d.images(), indices[i] * px, images, i * px, px);
            labels[i] = d.labels()[indices[i]];
        }
        return new Dataset(d.name() + " (" + what + ")", images, labels, d.rows(), d.cols());
    }
}
