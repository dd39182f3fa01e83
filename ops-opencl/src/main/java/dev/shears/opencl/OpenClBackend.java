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
    private final AtomicLong liveBytes = new AtomicLong(), liveBuffers = new AtomicLong(), created = new AtomicLong();
    private final AtomicLong scratchBytes = new AtomicLong(), scratchBuffers = new AtomicLong();
    private final BufferPool pool;
    private final ClStorage dummy;   // passed where a kernel's optional buffer (bias, momentum) is absent
    private final ClStorage[] workspace = new ClStorage[4];   // im2col columns, GEMM output, reduction partial sums, split-K slices
    private final boolean tiledGemm;
    private GemmKernel gemmChoice = GemmKernel.AUTO;
    /** With -Dshears.opencl.profile=true every launch is waited for and timed per kernel (slow; for diagnosis). */
    private final boolean profiling = Boolean.getBoolean("shears.opencl.profile");
    private final Map<String, long[]> profile = new java.util.TreeMap<>();   // kernel → {calls, nanoseconds}
    private boolean closed;

    /** Which GEMM kernel runs: AUTO picks the tiled one except for matrix-vector shapes. */
    public enum GemmKernel { AUTO, NAIVE, TILED }

    private OpenClBackend(ClContext ctx) {
        this.ctx = ctx;
        int[] err = new int[1];
        @SuppressWarnings("deprecation")   // clCreateCommandQueueWithProperties is 2.0+; NVIDIA and PoCL keep this
        cl_command_queue q = clCreateCommandQueue(ctx.context, ctx.device.id(), 0, err);
        queue = Cl.checked("clCreateCommandQueue", q, err);
        pool = new BufferPool(Math.min(1L << 30, ctx.device.globalMemBytes() / 4));
        dummy = newBuffer(1, false, scratchBytes, scratchBuffers, null);
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

    @Override public String toString() { return "opencl(" + ctx.device.name() + ")"; }

    public OpenClDevices.Device device() { return ctx.device; }

    /** Bytes of device memory held by this backend's live storages (workspaces not included). */
    public long liveBytes() { return liveBytes.get(); }

    /** Number of live storages (cl_mem buffers) of this backend. */
    public long liveBuffers() { return liveBuffers.get(); }

    /** How many device buffers this backend has created (clCreateBuffer) so far; the pool's hits do not count. */
    public long buffersCreated() { return created.get(); }

    /** Bytes of closed storages' buffers kept for reuse ({@link BufferPool}). */
    public long pooledBytes() { return pool.pooledBytes(); }

    /** Bytes of the backend's own workspaces (im2col columns, split-K slices, reduction partial sums), grown once and reused. */
    public long workspaceBytes() { return scratchBytes.get(); }

    @Override
    public long deviceBytes() { return liveBytes() + pooledBytes() + workspaceBytes(); }

    /** Forces one GEMM kernel (tests and benchmarks compare them); AUTO is the default. */
    public synchronized void gemmKernel(GemmKernel k) { gemmChoice = k; }

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
        pool.close();
        Cl.check("clReleaseCommandQueue", clReleaseCommandQueue(queue));
    }

    @Override public void synchronize() { Cl.check("clFinish", clFinish(queue)); }

    // ---- memory ----

    /** A storage's buffer, from the pool when {@code pool} is given and has one of this size. */
    private ClStorage newBuffer(int length, boolean ints, AtomicLong bytesCounter, AtomicLong buffersCounter, BufferPool pool) {
        long bytes = 4L * Math.max(1, length);   // OpenCL has no zero-sized buffers
        cl_mem mem = pool == null ? null : pool.take(bytes);
        if (mem == null) {
            int[] err = new int[1];
            mem = Cl.checked("clCreateBuffer(" + bytes + " bytes)", clCreateBuffer(ctx.context, CL_MEM_READ_WRITE, bytes, null, err), err);
            created.incrementAndGet();
        }
        return new ClStorage(this, ctx, mem, length, bytes, ints, bytesCounter, buffersCounter, pool);
    }

    private ClStorage newStorage(int length, boolean ints) {
        return newBuffer(length, ints, liveBytes, liveBuffers, pool);
    }

    @Override
    public Storage allocate(int length) {
        ClStorage s = newStorage(length, false);
        fill(length, 0f, s);
        return s;
    }

    @Override
    public Storage upload(float[] data) { return upload(data.length, false, Pointer.to(data)); }

    @Override
    public Storage uploadInts(int[] data) { return upload(data.length, true, Pointer.to(data)); }

    /** A new storage of {@code length} 4-byte elements, written from {@code host} (a blocking copy). */
    private ClStorage upload(int length, boolean ints, Pointer host) {
        ClStorage s = newStorage(length, ints);
        if (length > 0)
            Cl.check("clEnqueueWriteBuffer", clEnqueueWriteBuffer(queue, s.mem(), CL_TRUE, 0, 4L * length, host, 0, null, null));
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

    @Override
    public void copyStrided(int rows, int cols, Storage x, int xOffset, int xStride, Storage y, int yOffset, int yStride) {
        launch1("copy_strided", (long) rows * cols, rows, cols, x, xOffset, xStride, y, yOffset, yStride);
    }

    private ClStorage cl(Storage s) {
        if (s instanceof ClStorage c) {
            // not merely the same context: buffers are reused in the order of this backend's queue only
            if (c.backend() != this)
                throw new IllegalArgumentException("OpenCL storage of another backend instance (" + c.context.device.spec()
                        + ") used on " + ctx.device.spec() + ": move the tensor with Tensor.to(backend) first");
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
        for (long g : global) if (g == 0) return;   // (rounded-up sizes are 0 exactly when the range is empty)
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
            if (rc != CL_SUCCESS) Cl.check("clSetKernelArg(" + name + ", " + i + ")", rc);   // message built only on failure
        }
        long t0 = profiling ? finishedAt() : 0;
        int rc = clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, null);
        if (rc != CL_SUCCESS)
            Cl.check("clEnqueueNDRangeKernel(" + name + ", global " + Arrays.toString(global) + ", local " + Arrays.toString(local) + ")", rc);
        if (profiling) {
            long[] p = profile.computeIfAbsent(name, n -> new long[2]);
            p[0]++;
            p[1] += finishedAt() - t0;
        }
    }

    private long finishedAt() {
        Cl.check("clFinish", clFinish(queue));
        return System.nanoTime();
    }

    /** Time per kernel since the last call, when -Dshears.opencl.profile=true, slowest first; then resets. */
    public synchronized String profileReport() {
        if (!profiling) return "(profiling is off: run with -Dshears.opencl.profile=true)";
        StringBuilder sb = new StringBuilder();
        profile.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1])).forEach(e ->
                sb.append(String.format("%-24s %7d calls %10.3f ms%n", e.getKey(), e.getValue()[0], e.getValue()[1] / 1e6)));
        profile.clear();
        return sb.toString();
    }

    /**
     * One work-item per element, in work-groups of {@link ClContext#reductionWorkGroup}: the global size is
     * rounded up (every kernel checks its bound), since a driver left to choose may pick tiny groups for odd n.
     */
    private void launch1(String name, long n, Object... args) {
        long wg = ctx.reductionWorkGroup;
        launch(name, new long[]{(n + wg - 1) / wg * wg}, new long[]{wg}, args);
    }

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

    /**
     * Work-groups per output of a reduction over {@code reduced} values: about 4096 values per group, at most
     * 64, so that a bias gradient or a channel's statistics spread over a GPU instead of a few of its cores.
     */
    private static int splits(long reduced) { return (int) Math.max(1, Math.min(64, (reduced + 4095) / 4096)); }

    @Override
    public synchronized void sumTo(int[] xShape, Storage x, int[] outShape, Storage out) {
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
        int g = splits(reduced), chunk = ceilDiv(reduced, g);
        Storage partial = g == 1 ? out : workspace(2, (long) outputs * g);
        launchGroups("sum_to", (long) outputs * g, reduced, chunk, g, nk, nr, pad8(Arrays.copyOf(kept, nk), 1),
                pad8(Arrays.copyOf(keptStride, nk), 0), pad8(Arrays.copyOf(red, nr), 1), pad8(Arrays.copyOf(redStride, nr), 0), x, partial);
        if (g > 1) launch1("sum_partials", outputs, outputs, g, partial, out);
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

    /**
     * Slices along K for a product of {@code tiles} output tiles: enough work-groups for about four per compute
     * unit, each slice at least 256 long, at most 64 slices (and the workspace they need stays ≤ 64·M·N).
     */
    private int kSplits(int tiles, int k) {
        int wanted = 4 * ctx.device.computeUnits();
        if (tiles >= wanted || k < 512) return 1;
        return Math.max(1, Math.min(Math.min(64, k / 256), ceilDiv(wanted, tiles)));
    }

    /** GEMM on parts of buffers: A, B and C start at element offsets aOff, bOff, cOff. */
    private synchronized void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      Storage a, int aOff, Storage b, int bOff, float beta, Storage c, int cOff) {
        boolean tiled = switch (gemmChoice) {
            case NAIVE -> false;
            case TILED -> tiledGemm;
            // a 64×64 tile would waste 63/64 of its work on a matrix-vector product
            case AUTO -> tiledGemm && m > 1 && n > 1;
        };
        if (tiled) {
            // gemm.cl: TSM = TSN = 64 values per tile edge, 16×16 work-items per group
            int tiles = ceilDiv(n, 64) * ceilDiv(m, 64), splits = kSplits(tiles, k);
            long gx = (long) ceilDiv(n, 64) * 16, gy = (long) ceilDiv(m, 64) * 16;
            if (splits == 1) {
                launch("gemm_tiled", new long[]{gx, gy, 1}, new long[]{16, 16, 1},
                        transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff, k);
            } else {
                int kChunk = ceilDiv(ceilDiv(k, splits), 16) * 16;
                splits = ceilDiv(k, kChunk);
                ClStorage partial = workspace(3, (long) splits * m * n);
                launch("gemm_tiled", new long[]{gx, gy, splits}, new long[]{16, 16, 1},
                        transA, transB, m, n, k, 1f, a, aOff, b, bOff, 0f, partial, 0, kChunk);
                launch1("gemm_sum_splits", (long) m * n, m * n, splits, alpha, partial, beta, c, cOff);
            }
            return;
        }
        Object[] args = {transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff};
        if (tiledGemm) {   // the device takes 16×16 groups (the kernel checks its bounds)
            launch("gemm_naive", new long[]{ceilDiv(n, 16) * 16L, ceilDiv(m, 16) * 16L}, new long[]{16, 16}, args);
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
            w = newBuffer((int) floats, false, scratchBytes, scratchBuffers, null);
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

    // Groups: the column matrix's rows are ordered by input channel and w's by filter, so group g is a block of
    // rows of each ([g·C/G·R·S, +C/G·R·S) of col, [g·K/G, +K/G) of w and tmp): one GEMM per group on offsets.

    /** Depthwise shapes (one input channel per group, G &gt; 1) have direct kernels (conv.cl). */
    private static boolean depthwise(Conv2dShape s) { return s.groups() > 1 && s.cPerGroup() == 1; }

    @Override
    public synchronized void conv2dForward(Conv2dShape s, Storage x, Storage w, Storage bias, Storage y) {
        if (depthwise(s)) {
            launch1("depthwise_forward", s.outputSize(), convArgs(s, s.n(), s.k(), bias != null, x, w, bias, y));
            return;
        }
        int crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), nb = chunk(s);
        int gcrs = s.cPerGroup() * s.r() * s.s(), gk = s.kPerGroup();
        ClStorage col = workspace(0, (long) crs * nb * pq), tmp = workspace(1, (long) s.k() * nb * pq);
        for (int n0 = 0; n0 < s.n(); n0 += nb) {
            int b = Math.min(nb, s.n() - n0), cols = b * pq;
            launch1("im2col", (long) s.c() * cols, convArgs(s, n0, b, x, col));
            for (int g = 0; g < s.groups(); g++)
                gemm(false, false, gk, cols, gcrs, 1f, w, g * gk * gcrs, col, g * gcrs * cols, 0f, tmp, g * gk * cols);
            launch1("kpq_to_nkpq", (long) b * s.k() * pq, s.k(), pq, n0, b, bias != null, tmp, bias, y);
        }
    }

    @Override
    public synchronized void conv2dBackwardData(Conv2dShape s, Storage dy, Storage w, Storage dx) {
        if (depthwise(s)) {
            launch1("depthwise_backward_data", s.inputSize(), convArgs(s, s.n(), s.k(), dy, w, dx));
            return;
        }
        int crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), nb = chunk(s);
        int gcrs = s.cPerGroup() * s.r() * s.s(), gk = s.kPerGroup();
        ClStorage col = workspace(0, (long) crs * nb * pq), tmp = workspace(1, (long) s.k() * nb * pq);
        for (int n0 = 0; n0 < s.n(); n0 += nb) {
            int b = Math.min(nb, s.n() - n0), cols = b * pq;
            launch1("nkpq_to_kpq", (long) b * s.k() * pq, s.k(), pq, n0, b, dy, tmp);
            for (int g = 0; g < s.groups(); g++)   // dcol = wᵀ · dy, per group
                gemm(true, false, gcrs, cols, gk, 1f, w, g * gk * gcrs, tmp, g * gk * cols, 0f, col, g * gcrs * cols);
            launch1("col2im", (long) b * s.c() * s.h() * s.w(), convArgs(s, n0, b, col, dx));
        }
    }

    @Override
    public synchronized void conv2dBackwardWeight(Conv2dShape s, Storage x, Storage dy, Storage dw, Storage dbias) {
        if (depthwise(s)) {
            launchGroups("depthwise_backward_weight", s.weightSize(), convArgs(s, s.n(), s.k(), x, dy, dw));
            if (dbias != null) sumTo(new int[]{s.n(), s.k(), s.p() * s.q()}, dy, new int[]{1, s.k(), 1}, dbias);
            return;
        }
        int crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), nb = chunk(s);
        int gcrs = s.cPerGroup() * s.r() * s.s(), gk = s.kPerGroup();
        ClStorage col = workspace(0, (long) crs * nb * pq), tmp = workspace(1, (long) s.k() * nb * pq);
        for (int n0 = 0; n0 < s.n(); n0 += nb) {
            int b = Math.min(nb, s.n() - n0), cols = b * pq;
            launch1("im2col", (long) s.c() * cols, convArgs(s, n0, b, x, col));
            launch1("nkpq_to_kpq", (long) b * s.k() * pq, s.k(), pq, n0, b, dy, tmp);
            // dw (+)= dy · colᵀ per group: the first chunk overwrites, later ones accumulate
            for (int g = 0; g < s.groups(); g++)
                gemm(false, true, gk, gcrs, cols, 1f, tmp, g * gk * cols, col, g * gcrs * cols, n0 == 0 ? 0f : 1f, dw, g * gk * gcrs);
        }
        if (dbias != null) sumTo(new int[]{s.n(), s.k(), pq}, dy, new int[]{1, s.k(), 1}, dbias);
    }

    // ---- batch normalisation ----

    @Override
    public synchronized void batchNorm2dForward(int n, int c, int hw, boolean training, float momentum, float eps,
                                   Storage x, Storage gamma, Storage beta, Storage runningMean, Storage runningVar,
                                   Storage y, Storage mean, Storage invStd) {
        if (training) {
            int g = splits((long) n * hw), chunk = ceilDiv(n * hw, g);
            ClStorage partial = workspace(2, 3L * c * g);   // (count, mean, M2) per channel slice
            launchGroups("bn_stats_partial", (long) c * g, n, c, hw, chunk, g, x, partial);
            launch1("bn_stats_finish", c, c, g, momentum, eps, partial, runningMean, runningVar, mean, invStd);
        } else {
            launch1("bn_stats_eval", c, c, eps, runningMean, runningVar, mean, invStd);
        }
        int total = n * c * hw;
        launch1("bn_apply", total, total, c, hw, x, gamma, beta, mean, invStd, y);
    }

    @Override
    public synchronized void batchNorm2dBackward(int n, int c, int hw, boolean training, Storage x, Storage dy, Storage gamma,
                                    Storage mean, Storage invStd, Storage dx, Storage dgamma, Storage dbeta) {
        int g = splits((long) n * hw), chunk = ceilDiv(n * hw, g);
        ClStorage partial = workspace(2, 2L * c * g);   // (Σdy, Σdy·x̂) per channel slice
        launchGroups("bn_backward_partial", (long) c * g, n, c, hw, chunk, g, x, dy, mean, invStd, partial);
        launch1("bn_backward_finish", c, c, g, partial, dgamma, dbeta);
        int total = n * c * hw;
        launch1("bn_backward_dx", total, total, c, hw, n * hw, training, x, dy, gamma, mean, invStd, dgamma, dbeta, dx);
    }

    // ---- pooling ----

    @Override
    public Storage maxPool2dForward(Pool2dShape p, Storage x, Storage y) {
        ClStorage argmax = newStorage(p.outputSize(), true);
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

    @Override
    public void avgPool2dForward(Pool2dShape p, boolean countIncludePad, Storage x, Storage y) {
        launch1("avgpool_forward", p.outputSize(), p.n() * p.c(), p.h(), p.w(), p.p(), p.q(), p.r(), p.s(),
                p.strideH(), p.strideW(), p.padH(), p.padW(), countIncludePad, x, y);
    }

    @Override
    public void avgPool2dBackward(Pool2dShape p, boolean countIncludePad, Storage dy, Storage dx) {
        launch1("avgpool_backward", p.inputSize(), p.n() * p.c(), p.h(), p.w(), p.p(), p.q(), p.r(), p.s(),
                p.strideH(), p.strideW(), p.padH(), p.padW(), countIncludePad, dy, dx);
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
