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
}
