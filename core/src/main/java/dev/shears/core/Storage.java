package dev.shears.core;

/**
 * A flat block of memory owned by one {@link Backend}: host arrays for the CPU backends, a device buffer
 * for OpenCL. A tensor's elements live at offsets {@code 0 .. length-1} of its storage, row-major.
 *
 * <p>Storages are closed deterministically, either one by one or all at once by a {@link TensorScope}; the
 * JVM's garbage collector does not know how much device memory a tiny Java object pins.
 */
public interface Storage extends AutoCloseable {

    /** Number of elements (floats, or ints for index storages). */
    int length();

    Backend backend();

    /** Releases the memory; idempotent. Using a closed storage afterwards is an error. */
    @Override
    void close();

    boolean isClosed();

    /**
     * How many in-place writes to this storage were recorded with {@link #markModified}: PyTorch's
     * {@code tensor._version}. Whoever overwrites a storage that others may have read from (an optimiser step,
     * BatchNorm's running statistics in training) records it, so a reader that kept something computed from
     * the values (a compiled predictor's folded weights) can tell that it is out of date. Writes made straight
     * into the memory ({@link HeapStorage#floats}) are not counted unless the writer calls markModified.
     */
    long version();

    /** Records one in-place write: {@link #version} grows by one. */
    void markModified();
}
