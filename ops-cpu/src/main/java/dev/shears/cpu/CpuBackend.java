package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;

import static dev.shears.core.HeapStorage.floats;
import static dev.shears.core.HeapStorage.ints;

/**
 * The fast CPU backend: every primitive as a {@code jdk.incubator.vector} kernel with a scalar twin,
 * spread over the cores by one reusable pool ({@link Parallel}). Storages are {@link HeapStorage}, the same as
 * the reference backend's, so tensors move between the two without a copy.
 *
 * <p>System properties read by {@link #CpuBackend()}: {@code shears.threads} (default: available
 * processors) and {@code shears.simd} ({@code false} runs the scalar twins, the oracle the SIMD kernels are
 * tested against). Tests build both variants side by side with {@link #CpuBackend(boolean, int)}.
 *
 * <p>The kernels live one concept per file: {@link Gemm}, {@link Conv} (with {@link Depthwise} and
 * {@link GroupedConv}), {@link Pointwise}, {@link Reduce}, {@link BatchNorm}, {@link Pool}, {@link AvgPool},
 * {@link Loss}; this class only unwraps storages and forwards.
 */
public final class CpuBackend implements Backend {
    private final boolean simd;
    private final Parallel par;

    /** Configured by {@code -Dshears.simd} and {@code -Dshears.threads}. */
    public CpuBackend() {
        this(!"false".equalsIgnoreCase(System.getProperty("shears.simd", "true")),
                Integer.getInteger("shears.threads", Runtime.getRuntime().availableProcessors()));
    }

    /** @param simd false runs the scalar kernels; @param threads size of this backend's pool (≥ 1). */
    public CpuBackend(boolean simd, int threads) {
        this.simd = simd;
        this.par = new Parallel(threads);
    }

    /** Arrays handed back by {@link #recycle}, for {@link #allocateForOutput}. */
    private final FreeList recycled = new FreeList();

    public boolean simd() { return simd; }

    @Override public int threads() { return par.threads(); }

    /** {@link Parallel#parallelFor} over [0, count): the kernels a range calls run serially on its thread. */
    @Override public void splitAcrossThreads(int count, Range task) { par.parallelFor(0, count, task::run); }

    /** {@link Parallel#serialOnThisThread}. */
    @Override public boolean callingThreadOnly(boolean alone) { return Parallel.serialOnThisThread(alone); }

    @Override public String name() { return "cpu"; }

    @Override public String toString() { return "cpu(simd=" + simd + ", threads=" + par.threads() + ")"; }

    // ---- memory ----

    /** A recycled array of {@code length} floats, zeroed, if there is one; else a fresh one. */
    @Override public Storage allocate(int length) {
        float[] a = recycled.take(length);
        if (a != null) java.util.Arrays.fill(a, 0f);
        return HeapStorage.owning(this, a != null ? a : new float[length]);
    }

    /**
     * Reuses a recycled array of exactly {@code length} floats if there is one. A fresh float[] is zeroed by
     * the JVM: for a 2 MB activation at batch 64 about 45 µs, an eighth of a pruned SimpleCNN's conv1. Arrays
     * of a megabyte or more are also G1's "humongous" objects, each allocation a step towards a collection.
     */
    @Override public Storage allocateForOutput(int length) {
        float[] a = recycled.take(length);
        return HeapStorage.owning(this, a != null ? a : new float[length]);
    }

    /**
     * Closes {@code s} and keeps its array for a later allocation if this backend made it; an array that
     * {@link HeapStorage#ofFloats} wrapped (someone else's) is left alone. Every {@link dev.shears.core.TensorScope}
     * hands its storages back here, so a training step reuses the previous step's arrays.
     */
    @Override public void recycle(Storage s) {
        float[] a = HeapStorage.ownedFloats(s);
        s.close();               // a later use of s fails instead of reading someone else's values
        if (a != null) recycled.give(a);
    }
    @Override public Storage upload(float[] data) { return HeapStorage.owning(this, data.clone()); }
    @Override public Storage uploadInts(int[] data) { return HeapStorage.ofInts(this, data.clone()); }
    @Override public float[] download(Storage s) { return floats(s).clone(); }
    @Override public void fill(int n, float value, Storage y) { java.util.Arrays.fill(floats(y), 0, n, value); }
    @Override public void copy(int n, Storage x, Storage y) { System.arraycopy(floats(x), 0, floats(y), 0, n); }

    @Override public void copyStrided(int rows, int cols, Storage x, int xOffset, int xStride, Storage y, int yOffset, int yStride) {
        float[] xa = floats(x), ya = floats(y);
        for (int i = 0; i < rows; i++) System.arraycopy(xa, xOffset + i * xStride, ya, yOffset + i * yStride, cols);
    }

    // ---- element-wise ----

    @Override public void unary(Unary op, int n, Storage x, Storage y) { Pointwise.unary(par, simd, op, n, floats(x), floats(y)); }

    @Override public void affine(int n, float alpha, float beta, Storage x, Storage y) {
        Pointwise.affine(par, simd, n, alpha, beta, floats(x), floats(y));
    }

    @Override public void binary(Binary op, int[] outShape, Storage a, int[] aShape, Storage b, int[] bShape, Storage out) {
        Pointwise.binary(par, simd, op, outShape, floats(a), aShape, floats(b), bShape, floats(out));
    }

    @Override public void sumTo(int[] xShape, Storage x, int[] outShape, Storage out) {
        Reduce.sumTo(par, simd, xShape, floats(x), outShape, floats(out));
    }

    @Override public void permute(int[] xShape, int[] perm, Storage x, Storage y) {
        Reduce.permute(par, xShape, perm, floats(x), floats(y));
    }

    // ---- matrices ----

    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Storage a, Storage b, float beta, Storage c) {
        Gemm.sgemm(par, simd, transA, transB, m, n, k, alpha, floats(a), 0, transA ? m : k, floats(b), 0, transB ? k : n,
                beta, floats(c), 0, n);
    }

    // ---- convolution ----

    @Override public void conv2dForward(Conv2dShape s, Storage x, Storage w, Storage bias, Storage y) {
        if (Depthwise.applies(s)) Depthwise.forward(par, simd, s, floats(x), floats(w), bias == null ? null : floats(bias), floats(y));
        else if (s.groups() > 1) GroupedConv.forward(par, simd, s, floats(x), floats(w), bias == null ? null : floats(bias), floats(y));
        else Conv.forward(par, simd, s, floats(x), floats(w), bias == null ? null : floats(bias), floats(y));
    }

    @Override public void conv2dMaxPool2dForward(Conv2dShape s, Pool2dShape p, boolean relu, Storage x, Storage w,
                                                 Storage bias, Storage y) {
        if (s.groups() > 1 || !Conv.forwardMaxPool(par, simd, s, p, relu, floats(x), floats(w), bias == null ? null : floats(bias), floats(y)))
            Backend.super.conv2dMaxPool2dForward(s, p, relu, x, w, bias, y);
    }

    @Override public void conv2dMaxPool2dPairForward(Conv2dShape s1, Pool2dShape p1, boolean relu1, Storage x, Storage w1, Storage b1,
                                                     Conv2dShape s2, Pool2dShape p2, boolean relu2, Storage w2, Storage b2,
                                                     Storage mid, Storage y) {
        if (!Conv.forwardMaxPoolPair(par, simd, s1, p1, relu1, floats(x), floats(w1), b1 == null ? null : floats(b1),
                s2, p2, relu2, floats(w2), b2 == null ? null : floats(b2), floats(y)))
            Backend.super.conv2dMaxPool2dPairForward(s1, p1, relu1, x, w1, b1, s2, p2, relu2, w2, b2, mid, y);
    }

    @Override public void conv2dAddReluForward(Conv2dShape s, boolean add, boolean relu, Storage x, Storage w, Storage bias, Storage y) {
        if (s.groups() > 1 || !Conv.forwardEpilogue(par, simd, s, Conv.Epilogue.of(add, relu), floats(x), floats(w),
                bias == null ? null : floats(bias), floats(y)))
            Backend.super.conv2dAddReluForward(s, add, relu, x, w, bias, y);
    }

    @Override public void conv2dBackwardData(Conv2dShape s, Storage dy, Storage w, Storage dx) {
        if (Depthwise.applies(s)) Depthwise.backwardData(par, simd, s, floats(dy), floats(w), floats(dx));
        else if (s.groups() > 1) GroupedConv.backwardData(par, simd, s, floats(dy), floats(w), floats(dx));
        else Conv.backwardData(par, simd, s, floats(dy), floats(w), floats(dx));
    }

    @Override public void conv2dBackwardWeight(Conv2dShape s, Storage x, Storage dy, Storage dw, Storage dbias) {
        if (Depthwise.applies(s)) Depthwise.backwardWeight(par, simd, s, floats(x), floats(dy), floats(dw), dbias == null ? null : floats(dbias));
        else if (s.groups() > 1) GroupedConv.backwardWeight(par, simd, s, floats(x), floats(dy), floats(dw), dbias == null ? null : floats(dbias));
        else Conv.backwardWeight(par, simd, s, floats(x), floats(dy), floats(dw), dbias == null ? null : floats(dbias));
    }

    // ---- batch normalisation ----

    @Override public void batchNorm2dForward(int n, int c, int hw, boolean training, float momentum, float eps,
                                             Storage x, Storage gamma, Storage beta, Storage runningMean, Storage runningVar,
                                             Storage y, Storage mean, Storage invStd) {
        BatchNorm.forward(par, simd, n, c, hw, training, false, momentum, eps, floats(x), floats(gamma), floats(beta),
                floats(runningMean), floats(runningVar), floats(y), floats(mean), floats(invStd));
    }

    @Override public void batchNorm2dReluForward(int n, int c, int hw, boolean training, float momentum, float eps,
                                                 Storage x, Storage gamma, Storage beta, Storage runningMean, Storage runningVar,
                                                 Storage y, Storage mean, Storage invStd) {
        BatchNorm.forward(par, simd, n, c, hw, training, true, momentum, eps, floats(x), floats(gamma), floats(beta),
                floats(runningMean), floats(runningVar), floats(y), floats(mean), floats(invStd));
    }

    @Override public void batchNorm2dBackward(int n, int c, int hw, boolean training, Storage x, Storage dy, Storage gamma,
                                              Storage mean, Storage invStd, Storage dx, Storage dgamma, Storage dbeta) {
        BatchNorm.backward(par, simd, n, c, hw, training, floats(x), null, floats(dy), floats(gamma), floats(mean),
                floats(invStd), floats(dx), floats(dgamma), floats(dbeta));
    }

    @Override public void batchNorm2dReluBackward(int n, int c, int hw, boolean training, Storage x, Storage y, Storage dy,
                                                  Storage gamma, Storage mean, Storage invStd, Storage dx, Storage dgamma,
                                                  Storage dbeta) {
        BatchNorm.backward(par, simd, n, c, hw, training, floats(x), floats(y), floats(dy), floats(gamma), floats(mean),
                floats(invStd), floats(dx), floats(dgamma), floats(dbeta));
    }

    @Override public Storage batchNorm2dReluMaxPoolForward(Pool2dShape p, boolean training, float momentum, float eps,
                                                           Storage x, Storage gamma, Storage beta, Storage runningMean,
                                                           Storage runningVar, Storage y, Storage mean, Storage invStd,
                                                           Storage out) {
        int[] argmax = new int[p.outputSize()];
        BatchNorm.forward(par, simd, p.n(), p.c(), p.h() * p.w(), training, true, momentum, eps, floats(x), floats(gamma),
                floats(beta), floats(runningMean), floats(runningVar), floats(y), floats(mean), floats(invStd),
                new BatchNorm.Pooling(p, floats(out), argmax));
        return HeapStorage.ofInts(this, argmax);
    }

    @Override public void batchNorm2dReluMaxPoolBackward(Pool2dShape p, boolean training, Storage x, Storage y, Storage dyPool,
                                                         Storage argmax, Storage gamma, Storage mean, Storage invStd,
                                                         Storage dx, Storage dgamma, Storage dbeta) {
        BatchNorm.backward(par, simd, p.n(), p.c(), p.h() * p.w(), training, floats(x), floats(y),
                new BatchNorm.Pooled(p.p() * p.q(), floats(dyPool), ints(argmax)), floats(gamma), floats(mean),
                floats(invStd), floats(dx), floats(dgamma), floats(dbeta));
    }

    // ---- pooling ----

    @Override public Storage maxPool2dForward(Pool2dShape p, Storage x, Storage y) {
        int[] argmax = new int[p.outputSize()];
        Pool.forward(par, simd, p, floats(x), floats(y), argmax);
        return HeapStorage.ofInts(this, argmax);
    }

    @Override public void maxPool2dForwardValues(Pool2dShape p, Storage x, Storage y) {
        Pool.forwardValues(par, simd, p, floats(x), floats(y));
    }

    @Override public void maxPool2dBackward(Pool2dShape p, Storage dy, Storage argmax, Storage dx) {
        Pool.backward(par, p, floats(dy), ints(argmax), floats(dx));
    }

    @Override public void avgPool2dForward(Pool2dShape p, boolean countIncludePad, Storage x, Storage y) {
        AvgPool.forward(par, simd, p, countIncludePad, floats(x), floats(y));
    }

    @Override public void avgPool2dBackward(Pool2dShape p, boolean countIncludePad, Storage dy, Storage dx) {
        AvgPool.backward(par, simd, p, countIncludePad, floats(dy), floats(dx));
    }

    // ---- loss ----

    @Override public void crossEntropyForward(int n, int c, Storage logits, Storage labels, Storage logProbs, Storage loss) {
        Loss.crossEntropyForward(par, simd, n, c, floats(logits), ints(labels), floats(logProbs), floats(loss));
    }

    @Override public void crossEntropyBackward(int n, int c, Storage logProbs, Storage labels, Storage dLoss, Storage dLogits) {
        Loss.crossEntropyBackward(par, simd, n, c, floats(logProbs), ints(labels), floats(dLoss)[0], floats(dLogits));
    }

    // ---- optimiser ----

    @Override public void sgdStep(int n, float lr, float momentum, float dampening, float weightDecay, boolean nesterov,
                                  boolean firstStep, Storage param, Storage grad, Storage momentumBuf) {
        Pointwise.sgd(par, simd, n, lr, momentum, dampening, weightDecay, nesterov, firstStep, floats(param), floats(grad),
                momentumBuf == null ? null : floats(momentumBuf));
    }
}
