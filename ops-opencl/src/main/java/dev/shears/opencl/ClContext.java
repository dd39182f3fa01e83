package dev.shears.opencl;

import org.jocl.Pointer;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.jocl.CL.*;

/**
 * One OpenCL context per device, with the program holding every kernel, built once per JVM and shared by all
 * backends on that device (PoCL takes seconds to compile it). Contexts live as long as the JVM.
 */
final class ClContext {
    /** The kernel sources, in build order: reduce.cl defines group_sum for norm.cl and loss.cl. */
    static final String[] SOURCES = {"elementwise.cl", "reduce.cl", "gemm.cl", "conv.cl", "norm.cl", "pool.cl", "loss.cl"};

    /** Work-group size of the tiled GEMM (gemm.cl: RTSN×RTSM). */
    static final int GEMM_WG = 256;

    private static final Map<String, ClContext> BY_DEVICE = new ConcurrentHashMap<>();

    final OpenClDevices.Device device;
    final cl_context context;
    final cl_program program;
    /** Work-group size of the reductions (RED_WG in the kernels): a power of two, at most 256. */
    final int reductionWorkGroup;

    private ClContext(OpenClDevices.Device device) {
        this.device = device;
        int[] err = new int[1];
        cl_device_id[] ids = {device.id()};
        context = Cl.checked("clCreateContext(" + device.name() + ")", clCreateContext(null, 1, ids, null, null, err), err);
        int red = 1;
        while (red * 2 <= Math.min(256, device.maxWorkGroupSize())) red *= 2;
        reductionWorkGroup = red;
        program = build(device, context, "-DRED_WG=" + red);
    }

    static ClContext of(OpenClDevices.Device device) {
        return BY_DEVICE.computeIfAbsent(device.spec(), k -> new ClContext(device));
    }

    private static cl_program build(OpenClDevices.Device device, cl_context context, String options) {
        String[] sources = new String[SOURCES.length];
        for (int i = 0; i < SOURCES.length; i++) sources[i] = "#line 1 \"" + SOURCES[i] + "\"\n" + resource(SOURCES[i]);
        int[] err = new int[1];
        cl_program program = Cl.checked("clCreateProgramWithSource",
                clCreateProgramWithSource(context, sources.length, sources, null, err), err);
        int rc = clBuildProgram(program, 1, new cl_device_id[]{device.id()}, options, null, null);
        if (rc != CL_SUCCESS) {
            throw new OpenClException("clBuildProgram failed with " + Cl.errorName(rc) + " on " + device.name()
                    + "; the compiler's build log:\n" + buildLog(program, device.id()));
        }
        return program;
    }

    static String buildLog(cl_program program, cl_device_id device) {
        long[] size = new long[1];
        int rc = clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
        if (rc != CL_SUCCESS) return "(no build log: clGetProgramBuildInfo failed with " + Cl.errorName(rc) + ")";
        byte[] log = new byte[(int) size[0]];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
        return OpenClDevices.cString(log);
    }

    static String resource(String name) {
        try (InputStream in = ClContext.class.getResourceAsStream(name)) {
            if (in == null) throw new OpenClException("kernel source " + name + " is missing from the class path (dev/shears/opencl/" + name + ")");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new OpenClException("cannot read kernel source " + name, e);
        }
    }
}
