package dev.shears.data;

/**
 * The two halves of an MNIST-format dataset (MNIST itself, Fashion-MNIST, the embedded digits):
 * the {@code train-*} files and the {@code t10k-*} files.
 */
public record Mnist(Dataset train, Dataset test) {

    /** Number of classes in every MNIST-format dataset Shears loads. */
    public static final int CLASSES = 10;
}
