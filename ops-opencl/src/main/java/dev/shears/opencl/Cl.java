package dev.shears.opencl;

import org.jocl.CL;

/**
 * Return-code checking for JOCL, whose exceptions are switched off ({@link OpenClDevices} does it once) so
 * that every failure names the call that failed, as the brief of this module asks.
 */
final class Cl {
    private Cl() {}

    /** Throws unless {@code code} is CL_SUCCESS; {@code call} names the OpenCL function and what it was for. */
    static void check(String call, int code) {
        if (code != CL.CL_SUCCESS) throw new OpenClException(call + " failed with " + errorName(code) + " (" + code + ")");
    }

    /** For the clCreate* functions, which report through an int[1]. */
    static <T> T checked(String call, T result, int[] err) {
        check(call, err[0]);
        return result;
    }

    static String errorName(int code) {
        try {
            return CL.stringFor_errorCode(code);
        } catch (Throwable t) {
            return "CL error";
        }
    }
}
