package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.jocl.CL.*;

/**
 * The OpenCL backend: every primitive of {@link Backend} as a kernel of the .cl files next to this class
 * (resources dev/shears/opencl/*.cl). Tensors stay on the device between ops; only {@link #download} reads
 * back. Each instance owns one in-order command queue, so kernels run in the order they were enqueued and no
 * op waits for the one before it; the program and context are shared per device ({@link ClContext}).
 *
 * <p>Every OpenCL call is checked; a failure throws {@link OpenClException} naming the call and the error.
 * Not thread-safe beyond what {@link Backend} promises: kernel arguments are set under the instance's lock.
 */
public final class OpenClBackend implements Backend, AutoCloseable {

    /** Column-matrix workspace cap for im2col, in floats (64 MiB): the batch is processed in chunks that fit. */
    static final long WORKSPACE_FLOATS = 1L << 24;

    private final ClContext ctx;
    private final cl_command_queue queue;
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final AtomicLong liveBytes = new AtomicLong(), liveBuffers = new AtomicLong();
    private final AtomicLong scratchBytes = new AtomicLong(), scratchBuffers = new AtomicLong();
    private final ClStorage dummy;   // passed where a kernel's optional buffer (bias, momentum) is absent
    private final ClStorage[] workspace = new ClStorage[2];
    private final boolean tiledGemm;
    private GemmKernel gemmChoice = GemmKernel.AUTO;
    private boolean closed;

    /** Which GEMM kernel runs: AUTO picks the tiled one except for matrix-vector shapes. */
    enum GemmKernel { AUTO, NAIVE, TILED }

    private OpenClBackend(ClContext ctx) {
        this.ctx = ctx;
        int[] err = new int[1];
        @SuppressWarnings("deprecation")   // clCreateCommandQueueWithProperties is 2.0+; NVIDIA and PoCL keep this
        cl_command_queue q = clCreateCommandQueue(ctx.context, ctx.device.id(), 0, err);
        queue = Cl.checked("clCreateCommandQueue", q, err);
        dummy = newBuffer(1, false, scratchBytes, scratchBuffers);
        long[] wg = new long[1];
        Cl.check("clGetKernelWorkGroupInfo(gemm_tiled)", clGetKernelWorkGroupInfo(kernel("gemm_tiled"), ctx.device.id(),
                CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(wg), null));
        tiledGemm = wg[0] >= ClContext.GEMM_WG;
    }

    /**
     * A backend on the device named by {@code spec}: "opencl" (the first GPU, else the first device),
     * "opencl:PLATFORM" or "opencl:PLATFORM:DEVICE" (indices as {@link OpenClDevices#list()} shows them). With no
     * OpenCL here the exception says what is missing and how to install it.
     */
    public static OpenClBackend open(String spec) {
        return new OpenClBackend(ClContext.of(OpenClDevices.select(spec)));
    }

    @Override public String name() { return "opencl"; }

    public OpenClDevices.Device device() { return ctx.device; }

    /** Bytes of device memory held by this backend's live storages (workspaces not included). */
    public long liveBytes() { return liveBytes.get(); }

    /** Number of live storages (cl_mem buffers) of this backend. */
    public long liveBuffers() { return liveBuffers.get(); }

    /** Bytes of the backend's own buffers: the im2col workspaces (grown to the largest convolution seen, then reused). */
    public long workspaceBytes() { return scratchBytes.get(); }

    /** Forces one GEMM kernel (tests and benchmarks compare them); AUTO is the default. */
    void gemmKernel(GemmKernel k) { gemmChoice = k; }

    /** Releases the queue, kernels and workspaces; storages close on their own (they only need the context). */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Cl.check("clFinish", clFinish(queue));
        for (cl_kernel k : kernels.values()) Cl.check("clReleaseKernel", clReleaseKernel(k));
        kernels.clear();
        for (ClStorage w : workspace) if (w != null) w.close();
        dummy.close();
        Cl.check("clReleaseCommandQueue", clReleaseCommandQueue(queue));
    }

    @Override public void synchronize() { Cl.check("clFinish", clFinish(queue)); }

    // ---- memory ----

    private ClStorage newBuffer(int length, boolean ints, AtomicLong bytesCounter, AtomicLong buffersCounter) {
        long bytes = 4L * Math.max(1, length);   // OpenCL has no zero-sized buffers
        int[] err = new int[1];
        cl_mem mem = Cl.checked("clCreateBuffer(" + bytes + " bytes)",
                clCreateBuffer(ctx.context, CL_MEM_READ_WRITE, bytes, null, err), err);
        return new ClStorage(this, ctx, mem, length, bytes, ints, bytesCounter, buffersCounter);
    }

    @Override
    public Storage allocate(int length) {
        ClStorage s = newBuffer(length, false, liveBytes, liveBuffers);
        fill(length, 0f, s);
        return s;
    }

    @Override
    public Storage upload(float[] data) {
        ClStorage s = newBuffer(data.length, false, liveBytes, liveBuffers);
        if (data.length > 0)
            Cl.check("clEnqueueWriteBuffer", clEnqueueWriteBuffer(queue, s.mem(), CL_TRUE, 0, 4L * data.length, Pointer.to(data), 0, null, null));
        return s;
    }

    @Override
    public Storage uploadInts(int[] data) {
        ClStorage s = newBuffer(data.length, true, liveBytes, liveBuffers);
        if (data.length > 0)
            Cl.check("clEnqueueWriteBuffer", clEnqueueWriteBuffer(queue, s.mem(), CL_TRUE, 0, 4L * data.length, Pointer.to(data), 0, null, null));
        return s;
    }

    @Override
    public float[] download(Storage s) {
        ClStorage c = cl(s);
        if (c.ints) throw new IllegalStateException("download: expected a float storage, found an int storage (use downloadInts)");
        float[] out = new float[c.length()];
        if (out.length > 0)
            Cl.check("clEnqueueReadBuffer", clEnqueueReadBuffer(queue, c.mem(), CL_TRUE, 0, 4L * out.length, Pointer.to(out), 0, null, null));
        return out;
    }

    /** A host copy of an int storage (labels, arg-max indices). */
    public int[] downloadInts(Storage s) {
        ClStorage c = cl(s);
        if (!c.ints) throw new IllegalStateException("downloadInts: expected an int storage, found a float storage");
        int[] out = new int[c.length()];
        if (out.length > 0)
            Cl.check("clEnqueueReadBuffer", clEnqueueReadBuffer(queue, c.mem(), CL_TRUE, 0, 4L * out.length, Pointer.to(out), 0, null, null));
        return out;
    }

    @Override
    public void fill(int n, float value, Storage y) {
        if (n == 0) return;
        Cl.check("clEnqueueFillBuffer", clEnqueueFillBuffer(queue, cl(y).mem(), Pointer.to(new float[]{value}), Sizeof.cl_float,
                0, 4L * n, 0, null, null));
    }

    @Override
    public void copy(int n, Storage x, Storage y) {
        if (n == 0) return;
        Cl.check("clEnqueueCopyBuffer", clEnqueueCopyBuffer(queue, cl(x).mem(), cl(y).mem(), 0, 0, 4L * n, 0, null, null));
    }

    private ClStorage cl(Storage s) {
        if (s instanceof ClStorage c) {
            if (c.context != ctx)
                throw new IllegalArgumentException("OpenCL storage of device " + c.context.device.spec() + " used on " + ctx.device.spec()
                        + ": move the tensor with Tensor.to(backend) first");
            return c;
        }
        throw new IllegalArgumentException("expected an OpenCL storage, found one of backend "
                + (s == null ? "null" : s.backend().name()) + ": move the tensor with Tensor.to(backend) first");
    }

    // ---- launching kernels ----

    private cl_kernel kernel(String name) {
        cl_kernel k = kernels.get(name);
        if (k == null) {
            int[] err = new int[1];
            k = Cl.checked("clCreateKernel(" + name + ")", clCreateKernel(ctx.program, name, err), err);
            kernels.put(name, k);
        }
        return k;
    }

    /**
     * Sets the arguments and enqueues. Arguments: a Storage (null: the dummy buffer), Integer, Float, Boolean
     * (as int 0/1), or int[8] (an OpenCL int8 by value). {@code local} null lets the driver choose; otherwise
     * {@code global} must be a multiple of it. Nothing is enqueued when the range is empty.
     */
    private synchronized void launch(String name, long[] global, long[] local, Object... args) {
        if (closed) throw new IllegalStateException("OpenCL backend on " + ctx.device.spec() + " was closed");
        for (long g : global) if (g == 0) return;
        cl_kernel k = kernel(name);
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            int rc = switch (a) {
                case null -> clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(dummy.mem()));
                case Storage s -> clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(cl(s).mem()));
                case Integer v -> clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[]{v}));
                case Float v -> clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[]{v}));
                case Boolean v -> clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[]{v ? 1 : 0}));
                case int[] v -> clSetKernelArg(k, i, Sizeof.cl_int * 8L, Pointer.to(v));
                default -> throw new IllegalArgumentException("kernel " + name + " argument " + i + ": unsupported " + a.getClass());
            };
            Cl.check("clSetKernelArg(" + name + ", " + i + ")", rc);
        }
        Cl.check("clEnqueueNDRangeKernel(" + name + ", global " + Arrays.toString(global) + ", local "
                + Arrays.toString(local) + ")", clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, null));
    }

    /** One work-item per element. */
    private void launch1(String name, long n, Object... args) { launch(name, new long[]{n}, null, args); }

    /** One work-group of {@link ClContext#reductionWorkGroup} work-items per output value. */
    private void launchGroups(String name, long groups, Object... args) {
        int wg = ctx.reductionWorkGroup;
        launch(name, new long[]{groups * wg}, new long[]{wg}, args);
    }

    // ---- element-wise ----

    @Override
    public void unary(Unary op, int n, Storage x, Storage y) {
        launch1("unary_op", n, op.ordinal(), n, x, y);
    }

    @Override
    public void affine(int n, float alpha, float beta, Storage x, Storage y) {
        launch1("affine", n, n, alpha, beta, x, y);
    }

    @Override
    public void binary(Binary op, int[] outShape, Storage a, int[] aShape, Storage b, int[] bShape, Storage out) {
        int total = product(outShape);
        if (Arrays.equals(aShape, outShape) && Arrays.equals(bShape, outShape)) {
            launch1("binary_same", total, op.ordinal(), total, a, b, out);
            return;
        }
        int[] as = broadcastStrides(aShape), bs = broadcastStrides(bShape);
        launch1("binary_bcast", total, op.ordinal(), total, pad8(outShape, 1), pad8(as, 0), pad8(bs, 0), a, b, out);
    }

    @Override
    public void sumTo(int[] xShape, Storage x, int[] outShape, Storage out) {
        int rank = xShape.length;
        int[] xStride = strides(xShape);
        int[] kept = new int[rank], keptStride = new int[rank], red = new int[rank], redStride = new int[rank];
        int nk = 0, nr = 0;
        for (int d = 0; d < rank; d++) {
            if (outShape[d] == xShape[d]) { kept[nk] = xShape[d]; keptStride[nk++] = xStride[d]; }
            else { red[nr] = xShape[d]; redStride[nr++] = xStride[d]; }
        }
        int outputs = product(outShape), reduced = product(Arrays.copyOf(red, nr));
        if (reduced == 1) { copy(outputs, x, out); return; }
        launchGroups("sum_to", outputs, reduced, pad8(Arrays.copyOf(kept, nk), 1), pad8(Arrays.copyOf(keptStride, nk), 0),
                pad8(Arrays.copyOf(red, nr), 1), pad8(Arrays.copyOf(redStride, nr), 0), x, out);
    }

    @Override
    public void permute(int[] xShape, int[] perm, Storage x, Storage y) {
        int rank = xShape.length;
        int[] xStride = strides(xShape), yShape = new int[rank], permStride = new int[rank];
        for (int d = 0; d < rank; d++) {
            yShape[d] = xShape[perm[d]];
            permStride[d] = xStride[perm[d]];
        }
        int total = product(xShape);
        launch1("permute", total, total, pad8(yShape, 1), pad8(permStride, 0), x, y);
    }

    // ---- matrices ----

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Storage a, Storage b, float beta, Storage c) {
        gemm(transA, transB, m, n, k, alpha, a, 0, b, 0, beta, c, 0);
    }

    /** GEMM on parts of buffers: A, B and C start at element offsets aOff, bOff, cOff. */
    private void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      Storage a, int aOff, Storage b, int bOff, float beta, Storage c, int cOff) {
        boolean tiled = switch (gemmChoice) {
            case NAIVE -> false;
            case TILED -> tiledGemm;
            // a 64×64 tile would waste 63/64 of its work on a matrix-vector product
            case AUTO -> tiledGemm && m > 1 && n > 1;
        };
        Object[] args = {transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff};
        if (tiled) {
            // gemm.cl: TSM = TSN = 64 values per tile edge, 16×16 work-items per group
            long gx = (long) ceilDiv(n, 64) * 16, gy = (long) ceilDiv(m, 64) * 16;
            launch("gemm_tiled", new long[]{gx, gy}, new long[]{16, 16}, args);
        } else {
            launch("gemm_naive", new long[]{n, m}, null, args);
        }
    }

    // ---- convolution: im2col + GEMM over chunks of the batch (conv.cl has the layouts) ----

    /** Samples per chunk so that the column matrix [C·R·S, nb·P·Q] and tmp [K, nb·P·Q] fit the workspace. */
    private static int chunk(Conv2dShape s) {
        long perSample = (long) Math.max(s.c() * s.r() * s.s(), s.k()) * s.p() * s.q();
        return (int) Math.max(1, Math.min(s.n(), WORKSPACE_FLOATS / perSample));
    }

    private ClStorage workspace(int slot, long floats) {
        ClStorage w = workspace[slot];
        if (w == null || w.length() < floats) {
            if (w != null) w.close();
            w = newBuffer((int) floats, false, scratchBytes, scratchBuffers);
            workspace[slot] = w;
        }
        return w;
    }

    private Object[] convArgs(Conv2dShape s, Object... more) {
        Object[] head = {s.c(), s.h(), s.w(), s.r(), s.s(), s.p(), s.q(), s.strideH(), s.strideW(), s.padH(), s.padW()};
        Object[] all = Arrays.copyOf(head, head.length + more.length);
        System.arraycopy(more, 0, all, head.length, more.length);
        return all;
    }

    @Override
    public synchronized void conv2dForward(Conv2dShape s, Storage x, Storage w, Storage bias, Storage y) {
        int crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), nb = chunk(s);
        ClStorage col = workspace(0, (long) crs * nb * pq), tmp = workspace(1, (long) s.k() * nb * pq);
        for (int n0 = 0; n0 < s.n(); n0 += nb) {
            int b = Math.min(nb, s.n() - n0);
            launch1("im2col", (long) crs * b * pq, convArgs(s, n0, b, x, col));
            gemm(false, false, s.k(), b * pq, crs, 1f, w, 0, col, 0, 0f, tmp, 0);
            launch1("kpq_to_nkpq", (long) b * s.k() * pq, s.k(), pq, n0, b, bias != null, tmp, bias, y);
        }
    }

    @Override
    public synchronized void conv2dBackwardData(Conv2dShape s, Storage dy, Storage w, Storage dx) {
        int crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), nb = chunk(s);
        ClStorage col = workspace(0, (long) crs * nb * pq), tmp = workspace(1, (long) s.k() * nb * pq);
        for (int n0 = 0; n0 < s.n(); n0 += nb) {
            int b = Math.min(nb, s.n() - n0);
            launch1("nkpq_to_kpq", (long) b * s.k() * pq, s.k(), pq, n0, b, dy, tmp);
            gemm(true, false, crs, b * pq, s.k(), 1f, w, 0, tmp, 0, 0f, col, 0);   // dcol = wᵀ · dy
            launch1("col2im", (long) b * s.c() * s.h() * s.w(), convArgs(s, n0, b, col, dx));
        }
    }

    @Override
    public synchronized void conv2dBackwardWeight(Conv2dShape s, Storage x, Storage dy, Storage dw, Storage dbias) {
        int crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), nb = chunk(s);
        ClStorage col = workspace(0, (long) crs * nb * pq), tmp = workspace(1, (long) s.k() * nb * pq);
        for (int n0 = 0; n0 < s.n(); n0 += nb) {
            int b = Math.min(nb, s.n() - n0);
            launch1("im2col", (long) crs * b * pq, convArgs(s, n0, b, x, col));
            launch1("nkpq_to_kpq", (long) b * s.k() * pq, s.k(), pq, n0, b, dy, tmp);
            // dw (+)= dy · colᵀ: the first chunk overwrites, later ones accumulate
            gemm(false, true, s.k(), crs, b * pq, 1f, tmp, 0, col, 0, n0 == 0 ? 0f : 1f, dw, 0);
        }
        if (dbias != null) sumTo(new int[]{s.n(), s.k(), pq}, dy, new int[]{1, s.k(), 1}, dbias);
    }

    // ---- batch normalisation ----

    @Override
    public void batchNorm2dForward(int n, int c, int hw, boolean training, float momentum, float eps,
                                   Storage x, Storage gamma, Storage beta, Storage runningMean, Storage runningVar,
                                   Storage y, Storage mean, Storage invStd) {
        if (training) launchGroups("bn_stats", c, n, c, hw, momentum, eps, x, runningMean, runningVar, mean, invStd);
        else launch1("bn_stats_eval", c, c, eps, runningMean, runningVar, mean, invStd);
        int total = n * c * hw;
        launch1("bn_apply", total, total, c, hw, x, gamma, beta, mean, invStd, y);
    }

    @Override
    public void batchNorm2dBackward(int n, int c, int hw, boolean training, Storage x, Storage dy, Storage gamma,
                                    Storage mean, Storage invStd, Storage dx, Storage dgamma, Storage dbeta) {
        launchGroups("bn_backward_reduce", c, n, c, hw, x, dy, mean, invStd, dgamma, dbeta);
        int total = n * c * hw;
        launch1("bn_backward_dx", total, total, c, hw, n * hw, training, x, dy, gamma, mean, invStd, dgamma, dbeta, dx);
    }

    // ---- pooling ----

    @Override
    public Storage maxPool2dForward(Pool2dShape p, Storage x, Storage y) {
        ClStorage argmax = newBuffer(p.outputSize(), true, liveBytes, liveBuffers);
        launch1("maxpool_forward", p.outputSize(), p.n() * p.c(), p.h(), p.w(), p.p(), p.q(), p.r(), p.s(),
                p.strideH(), p.strideW(), p.padH(), p.padW(), x, y, argmax);
        return argmax;
    }

    @Override
    public void maxPool2dBackward(Pool2dShape p, Storage dy, Storage argmax, Storage dx) {
        if (!cl(argmax).ints) throw new IllegalArgumentException("max_pool2d backward: argmax must be the int storage from the forward pass");
        launch1("maxpool_backward", p.inputSize(), p.n() * p.c(), p.h(), p.w(), p.p(), p.q(), p.r(), p.s(),
                p.strideH(), p.strideW(), p.padH(), p.padW(), dy, argmax, dx);
    }

    // ---- loss ----

    @Override
    public void crossEntropyForward(int n, int c, Storage logits, Storage labels, Storage logProbs, Storage loss) {
        launchGroups("cross_entropy_forward", 1, n, c, logits, labels, logProbs, loss);
    }

    @Override
    public void crossEntropyBackward(int n, int c, Storage logProbs, Storage labels, Storage dLoss, Storage dLogits) {
        launch1("cross_entropy_backward", (long) n * c, n, c, logProbs, labels, dLoss, dLogits);
    }

    // ---- optimiser ----

    @Override
    public void sgdStep(int n, float lr, float momentum, float dampening, float weightDecay, boolean nesterov,
                        boolean firstStep, Storage param, Storage grad, Storage momentumBuf) {
        launch1("sgd_step", n, n, lr, momentum, dampening, weightDecay, nesterov, firstStep, momentumBuf != null,
                param, grad, momentumBuf);
    }

    // ---- shape helpers ----

    private static int product(int[] shape) {
        int p = 1;
        for (int d : shape) p *= d;
        return p;
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    private static int[] strides(int[] shape) {
        int[] st = new int[shape.length];
        for (int d = shape.length - 1, s = 1; d >= 0; s *= shape[d], d--) st[d] = s;
        return st;
    }

    /** Row-major strides with 0 for each dimension of size 1 (broadcast). */
    private static int[] broadcastStrides(int[] shape) {
        int[] st = strides(shape);
        for (int d = 0; d < shape.length; d++) if (shape[d] == 1) st[d] = 0;
        return st;
    }

    /** {@code v} right-aligned in an int8, padded on the left with {@code fill}. */
    private static int[] pad8(int[] v, int fill) {
        if (v.length > 8) throw new IllegalArgumentException("OpenCL backend: at most 8 dimensions, got " + v.length);
        int[] out = new int[8];
        Arrays.fill(out, 0, 8 - v.length, fill);
        System.arraycopy(v, 0, out, 8 - v.length, v.length);
        return out;
    }
}
