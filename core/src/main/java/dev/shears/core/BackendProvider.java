package dev.shears.core;

/** A backend module's entry in {@code META-INF/services/dev.shears.core.BackendProvider}. */
public interface BackendProvider {

    /** The name used on the command line and in {@code -Dshears.backend}, e.g. "cpu" or "opencl". */
    String name();

    /** Higher wins when choosing the default backend. */
    int priority();

    /** Whether this backend may become the default without being asked for (OpenCL may not: it must be asked). */
    default boolean isDefaultCandidate() { return true; }

    /** Whether the backend can run here (a device exists, the native library loads, ...). */
    boolean isAvailable();

    /** Creates (or returns the shared) backend; {@code spec} is the full name, e.g. "opencl:0:1". */
    Backend create(String spec);
}
