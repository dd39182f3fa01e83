package dev.shears.opencl;

/** A failed OpenCL call (named, with its error code's name), a failed kernel build, or a missing runtime. */
public final class OpenClException extends RuntimeException {
    public OpenClException(String message) { super(message); }
    public OpenClException(String message, Throwable cause) { super(message, cause); }
}
