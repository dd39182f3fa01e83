/**
 * Training data: the IDX reader ({@link dev.shears.data.Idx}), MNIST-format datasets and where they
 * come from ({@link dev.shears.data.Datasets}: a directory, the 10,000 digits embedded in the jar, or
 * an MD5-checked download), and the mini-batch iterator ({@link dev.shears.data.DataLoader}).
 *
 * <p>Nothing here depends on the tensor core: images are plain {@code float[]} in N×1×H×W order, so
 * the trainer decides how to wrap them.
 */
package dev.shears.data;
