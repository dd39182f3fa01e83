package dev.shears.data;

/**
 * Labelled single-channel images held as flat arrays, ready for a CNN.
 *
 * <p>Layout: {@code images} is N×1×rows×cols row-major (NCHW with C = 1), each pixel normalised as
 * {@code (x / 255 - 0.5) / 0.5}, i.e. into [-1, 1]; {@code labels[i]} is the class of image
 * {@code i}. Arrays are shared, not copied: treat them as read-only.
 *
 * @param name a human-readable origin, e.g. the image file's path
 */
public record Dataset(String name, float[] images, int[] labels, int rows, int cols) {

    public Dataset {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(name + ": image size must be positive, found " + rows + "x" + cols);
        }
        if ((long) labels.length * rows * cols != images.length) {
            throw new IllegalArgumentException(name + ": " + labels.length + " labels need " + labels.length
                    + "x" + rows + "x" + cols + " = " + ((long) labels.length * rows * cols)
                    + " pixels, found " + images.length);
        }
    }

    /** Number of images. */
    public int size() {
        return labels.length;
    }

    /** Pixels per image, {@code rows * cols} (there is one channel). */
    public int imageSize() {
        return rows * cols;
    }

    /** The first {@code n} images and labels (a copy), or this dataset when it has no more than {@code n}. */
    public Dataset first(int n) {
        if (n >= size()) return this;
        return new Dataset(name, java.util.Arrays.copyOf(images, n * imageSize()), java.util.Arrays.copyOf(labels, n), rows, cols);
    }

    /**
     * Pairs an IDX image file with its IDX label file, checking that they agree.
     *
     * <p>The normalisation is computed in float exactly as PyTorch's {@code ToTensor()} followed by
     * {@code Normalize((0.5,), (0.5,))} does it (divide by 255, subtract 0.5, divide by 0.5), so the
     * same byte gives the same float bit for bit.
     */
    public static Dataset fromIdx(Idx.Array images, Idx.Array labels) throws IdxFormatException {
        if (images.rank() != 3 || labels.rank() != 1) {
            throw new IllegalArgumentException("expected images of rank 3 and labels of rank 1, found "
                    + images + " and " + labels);
        }
        for (int d = 1; d <= 2; d++) {
            if (images.dim(d) == 0) {
                throw IdxFormatException.at(images.source(), "dimension " + d, 4L + 4 * d, "an image size > 0", "0");
            }
        }
        int count = images.dim(0);
        if (labels.dim(0) != count) {
            throw new IdxFormatException(images.source() + " and " + labels.source()
                    + ": image and label counts differ: field 'dimension 0' at byte offset 4: expected "
                    + count + " labels (one per image), found " + labels.dim(0));
        }
        float[] lut = new float[256];
        for (int b = 0; b < 256; b++) {
            lut[b] = (b / 255f - 0.5f) / 0.5f;
        }
        byte[] raw = images.data();
        float[] pixels = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            pixels[i] = lut[raw[i] & 0xFF];
        }
        int[] y = new int[count];
        byte[] rawLabels = labels.data();
        for (int i = 0; i < count; i++) {
            y[i] = rawLabels[i] & 0xFF;
        }
        return new Dataset(images.source(), pixels, y, images.dim(1), images.dim(2));
    }
}
