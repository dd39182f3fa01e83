package dev.shears.opencl;

import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

import java.util.ArrayList;
import java.util.List;

import static org.jocl.CL.*;

/**
 * The OpenCL devices of this machine, probed once per JVM. JOCL loads {@code libOpenCL.so} (the ICD loader)
 * on first use, and after one failed native load its {@code CL} class stays unusable for the JVM's life: so the
 * probe runs exactly once, in {@link Probe}'s static initialiser, and remembers why it failed.
 * It also warns once, on stderr, when the OpenCL runtime took the JVM's SIGSEGV handler ({@link SignalHandlers}).
 */
public final class OpenClDevices {
    private OpenClDevices() {}

    /** One device: its indices (as in {@code opencl:PLATFORM:DEVICE}), names, type and memory. */
    public record Device(int platformIndex, int deviceIndex, String platformName, String name, String type,
                         long globalMemBytes, long maxWorkGroupSize, int computeUnits, String version,
                         cl_platform_id platform, cl_device_id id) {
        public String spec() { return "opencl:" + platformIndex + ":" + deviceIndex; }

        @Override
        public String toString() {
            return String.format("%s  %s (%s, %d compute units, %d MiB, %s) on %s", spec(), name, type, computeUnits,
                    globalMemBytes >> 20, version, platformName);
        }
    }

    static final String INSTALL_HINT = "Install an OpenCL runtime: on Debian/Ubuntu `apt-get install ocl-icd-opencl-dev "
            + "pocl-opencl-icd` (a CPU device, PoCL), or the GPU vendor's driver (NVIDIA, AMD, Intel), which registers "
            + "an ICD under /etc/OpenCL/vendors. JOCL loads the loader as libOpenCL.so: where only libOpenCL.so.1 exists, "
            + "install ocl-icd-opencl-dev or link libOpenCL.so to it in a directory on LD_LIBRARY_PATH.";

    private static final class Probe {
        static final List<Device> DEVICES;
        static final String PROBLEM;   // null when at least one device was found

        static {
            List<Device> found = new ArrayList<>();
            String problem;
            try {
                CL.setExceptionsEnabled(false);
                problem = enumerate(found);
            } catch (Throwable t) {   // UnsatisfiedLinkError, NoClassDefFoundError after a failed load, ...
                found.clear();
                problem = "OpenCL is not available: the native library could not be loaded (" + t + "). " + INSTALL_HINT;
            }
            DEVICES = List.copyOf(found);
            PROBLEM = problem;
            String segv = SignalHandlers.segvWarning();   // PoCL's LLVM takes SIGSEGV from the JVM as it starts
            if (segv != null) System.err.println("shears: " + segv);
        }
    }

    private static String enumerate(List<Device> out) {
        int[] count = new int[1];
        int rc = clGetPlatformIDs(0, null, count);
        if (rc == CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && count[0] == 0))
            return "OpenCL is not available: libOpenCL.so loaded but no OpenCL platform is installed. " + INSTALL_HINT;
        Cl.check("clGetPlatformIDs", rc);
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        Cl.check("clGetPlatformIDs", clGetPlatformIDs(platforms.length, platforms, null));
        for (int p = 0; p < platforms.length; p++) {
            String platformName = string(platforms[p], CL_PLATFORM_NAME);
            int[] nd = new int[1];
            rc = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, null, nd);
            if (rc == CL_DEVICE_NOT_FOUND || nd[0] == 0) continue;
            Cl.check("clGetDeviceIDs(" + platformName + ")", rc);
            cl_device_id[] ids = new cl_device_id[nd[0]];
            Cl.check("clGetDeviceIDs(" + platformName + ")", clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, ids.length, ids, null));
            for (int d = 0; d < ids.length; d++) {
                long type = longInfo(ids[d], CL_DEVICE_TYPE);
                out.add(new Device(p, d, platformName, string(ids[d], CL_DEVICE_NAME).trim(), typeName(type),
                        longInfo(ids[d], CL_DEVICE_GLOBAL_MEM_SIZE), longInfo(ids[d], CL_DEVICE_MAX_WORK_GROUP_SIZE),
                        (int) intInfo(ids[d], CL_DEVICE_MAX_COMPUTE_UNITS), string(ids[d], CL_DEVICE_VERSION).trim(),
                        platforms[p], ids[d]));
            }
        }
        return out.isEmpty() ? "OpenCL is not available: " + platforms.length + " platform(s) but no device. " + INSTALL_HINT : null;
    }

    /** Every device of every platform; empty when OpenCL is unavailable (then {@link #problem()} says why). */
    public static List<Device> list() { return Probe.DEVICES; }

    public static boolean isAvailable() { return Probe.PROBLEM == null; }

    /** Why OpenCL cannot be used here, with what to install; null when it can. */
    public static String problem() { return Probe.PROBLEM; }

    /**
     * The device named by {@code spec}: "opencl" (the first GPU, else the first device), "opencl:P" (device 0 of
     * platform P) or "opencl:P:D". Fails with the reason when OpenCL is missing or the indices name no device.
     */
    public static Device select(String spec) {
        if (!isAvailable()) throw new OpenClException(problem());
        String[] parts = spec.split(":");
        if (!parts[0].equals("opencl") || parts.length > 3)
            throw new IllegalArgumentException("OpenCL device spec '" + spec + "': expected opencl, opencl:PLATFORM or opencl:PLATFORM:DEVICE");
        if (parts.length == 1) {
            for (Device d : list()) if (d.type().contains("GPU")) return d;
            return list().getFirst();
        }
        int p, d;
        try {
            p = Integer.parseInt(parts[1]);
            d = parts.length == 3 ? Integer.parseInt(parts[2]) : 0;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("OpenCL device spec '" + spec + "': platform and device must be indices, e.g. opencl:0:1");
        }
        for (Device dev : list()) if (dev.platformIndex() == p && dev.deviceIndex() == d) return dev;
        StringBuilder known = new StringBuilder();
        for (Device dev : list()) known.append("\n  ").append(dev);
        throw new IllegalArgumentException("no OpenCL device " + p + ":" + d + "; the devices here are:" + known);
    }

    private static String typeName(long type) {
        List<String> names = new ArrayList<>();
        if ((type & CL_DEVICE_TYPE_GPU) != 0) names.add("GPU");
        if ((type & CL_DEVICE_TYPE_CPU) != 0) names.add("CPU");
        if ((type & CL_DEVICE_TYPE_ACCELERATOR) != 0) names.add("accelerator");
        if (names.isEmpty()) names.add("other");
        return String.join("+", names);
    }

    static String string(cl_platform_id platform, int param) {
        long[] size = new long[1];
        Cl.check("clGetPlatformInfo", clGetPlatformInfo(platform, param, 0, null, size));
        byte[] buf = new byte[(int) size[0]];
        Cl.check("clGetPlatformInfo", clGetPlatformInfo(platform, param, buf.length, Pointer.to(buf), null));
        return cString(buf);
    }

    static String string(cl_device_id device, int param) {
        long[] size = new long[1];
        Cl.check("clGetDeviceInfo", clGetDeviceInfo(device, param, 0, null, size));
        byte[] buf = new byte[(int) size[0]];
        Cl.check("clGetDeviceInfo", clGetDeviceInfo(device, param, buf.length, Pointer.to(buf), null));
        return cString(buf);
    }

    /** cl_ulong and size_t values (64-bit on every platform JOCL supports). */
    static long longInfo(cl_device_id device, int param) {
        long[] v = new long[1];
        Cl.check("clGetDeviceInfo", clGetDeviceInfo(device, param, Sizeof.cl_long, Pointer.to(v), null));
        return v[0];
    }

    static long intInfo(cl_device_id device, int param) {
        int[] v = new int[1];
        Cl.check("clGetDeviceInfo", clGetDeviceInfo(device, param, Sizeof.cl_int, Pointer.to(v), null));
        return v[0];
    }

    static String cString(byte[] buf) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) n++;
        return new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Prints the devices, or why there are none: the body of a future {@code shears devices}. */
    public static void main(String[] args) {
        if (!isAvailable()) System.out.println(problem());
        for (Device d : list()) System.out.println(d);
    }
}
