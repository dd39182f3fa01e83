package dev.shears.core;

/**
 * The narrow line between the engine and a device. A backend owns memory ({@link Storage}) and implements a
 * small set of primitives over flat, row-major, contiguous storages; everything else (autograd, losses,
 * layers, optimisers) is composed above this line in plain Java.
 *
 * <p>Conventions, as in llm.c: outputs are written, never accumulated into, unless a {@code beta} says so;
 * arguments come as sizes, then inputs, then outputs. Shapes are checked by the caller ({@link Tensor}'s ops)
 * before a backend sees them, so a backend may trust its arguments.
 *
 * <p>{@link dev.shears.core.reference.ReferenceBackend} is the executable specification of every method.
 */
public interface Backend {

    String name();

    // ---- threads --------------------------------------------------------------------------------------

    /** The threads this backend's kernels run on (1 unless it says otherwise). */
    default int threads() { return 1; }

    /** A task over the items lo ≤ i &lt; hi, for {@link #splitAcrossThreads}. */
    @FunctionalInterface
    interface Range {
        void run(int lo, int hi);
    }

    /**
     * Runs {@code task} over [0, count), cut into at most {@link #threads()} contiguous ranges, each on a thread
     * of its own; the backend calls a range makes run on that range's thread alone. Returns when every range is
     * done. For a caller with coarser work than a kernel's (a compiled model's examples, run a few at a time
     * through all its layers). The default runs task(0, count) on the calling thread.
     */
    default void splitAcrossThreads(int count, Range task) { task.run(0, count); }

    /**
     * Sets whether the calls this thread makes run their kernels on this thread alone, as they do inside a range
     * of {@link #splitAcrossThreads} (the same results, bit for bit); returns the previous setting, to be put
     * back. The default (one thread) does nothing and returns false.
     */
    default boolean callingThreadOnly(boolean alone) { return false; }

    // ---- memory ---------------------------------------------------------------------------------------

    /** A new float storage of {@code length} zeros. */
    Storage allocate(int length);

    /**
     * A float storage of {@code length} elements whose contents are unspecified (it may be an array given
     * back by {@link #recycle}), for an op whose kernel writes every element of its output. Saves zeroing
     * megabytes per op where a chain of inference ops hands its intermediates back. The default is
     * {@link #allocate}.
     */
    default Storage allocateForOutput(int length) { return allocate(length); }

    /**
     * Closes {@code s}, which nothing refers to any more; the backend may hand its memory out again from
     * {@link #allocateForOutput}. The default only closes it.
     */
    default void recycle(Storage s) { s.close(); }

    /** A new float storage holding a copy of {@code data}. */
    Storage upload(float[] data);

    /** A new int storage (class labels, arg-max indices) holding a copy of {@code data}. */
    Storage uploadInts(int[] data);

    /** A host copy of a float storage. */
    float[] download(Storage s);

    /** Fills the first {@code n} elements of {@code y} with {@code value}. */
    void fill(int n, float value, Storage y);

    /** Copies {@code n} floats from {@code x} to {@code y}. */
    void copy(int n, Storage x, Storage y);

    /**
     * A strided block copy: y[yOffset + i·yStride + j] = x[xOffset + i·xStride + j] for i &lt; rows, j &lt; cols;
     * nothing else of y is written. Concatenation along a dimension and its backward (slicing the gradient
     * apart) are one such copy per input. {@code x} and {@code y} are different storages.
     */
    void copyStrided(int rows, int cols, Storage x, int xOffset, int xStride, Storage y, int yOffset, int yStride);

    // ---- element-wise ---------------------------------------------------------------------------------

    enum Unary {
        NEG, EXP, LOG, SQRT, ABS,
        /** −1, 0 or +1: the subgradient of |x| that PyTorch uses (0 at 0). */
        SIGN,
        /** max(x, 0). */
        RELU,
        /** 1 where x > 0, else 0: ReLU's derivative, 0 at exactly 0 like PyTorch (not max(x,0)'s "1 at 0"). */
        STEP,
        SQUARE
    }

    /** y[i] = op(x[i]) for i &lt; n. {@code y} may be {@code x}. */
    void unary(Unary op, int n, Storage x, Storage y);

    /** y[i] = alpha·x[i] + beta for i &lt; n. {@code y} may be {@code x}. */
    void affine(int n, float alpha, float beta, Storage x, Storage y);

    enum Binary { ADD, SUB, MUL, DIV, MAX, MIN }

    /**
     * out = a op b with NumPy broadcasting. The three shapes have the same rank (the caller pads with
     * leading 1s); each of {@code aShape[d]}, {@code bShape[d]} is 1 or {@code outShape[d]}. Where a (or b)
     * has the output's shape, {@code out} may be {@code a} (or {@code b}): each element is read before it is written.
     */
    void binary(Binary op, int[] outShape, Storage a, int[] aShape, Storage b, int[] bShape, Storage out);

    /**
     * Sums {@code x} of shape {@code xShape} down to {@code outShape} (same rank, every outShape[d] is 1 or
     * xShape[d]): the reduction that undoes a broadcast, and with an all-ones outShape the total sum.
     */
    void sumTo(int[] xShape, Storage x, int[] outShape, Storage out);

    /** y = x permuted: y's dimension d is x's dimension perm[d]. */
    void permute(int[] xShape, int[] perm, Storage x, Storage y);

    // ---- matrices -------------------------------------------------------------------------------------

    /**
     * C = alpha·op(A)·op(B) + beta·C, row-major. op(A) is M×K, op(B) is K×N, C is M×N. A is stored M×K, or
     * K×M when {@code transA}; B is K×N, or N×K when {@code transB}. With beta = 0, C's old contents are
     * ignored (even NaN).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k,
              float alpha, Storage a, Storage b, float beta, Storage c);

    // ---- convolution ------------------------------------------------------------------------------------

    /** y = conv(x, w) + bias; {@code bias} may be null. See {@link Conv2dShape} for layouts. */
    void conv2dForward(Conv2dShape s, Storage x, Storage w, Storage bias, Storage y);

    /** dx = ∂L/∂x given dy (overwrites dx). */
    void conv2dBackwardData(Conv2dShape s, Storage dy, Storage w, Storage dx);

    /** dw = ∂L/∂w and, when {@code dbias} is not null, dbias = Σ dy over N, P, Q (both overwritten). */
    void conv2dBackwardWeight(Conv2dShape s, Storage x, Storage dy, Storage dw, Storage dbias);

    // ---- batch normalisation over [N,C,H,W], per channel ---------------------------------------------------

    /**
     * Training: normalise with the batch's mean and biased variance, write {@code mean} and {@code invStd}
     * (1/√(var+eps)) per channel for the backward pass, and update the running statistics in place:
     * running = (1−momentum)·running + momentum·batch, with the <em>unbiased</em> variance (PyTorch).
     * Evaluation: normalise with the running statistics; mean/invStd are then written from them too.
     * y = γ·(x−mean)·invStd + β.
     */
    void batchNorm2dForward(int n, int c, int hw, boolean training, float momentum, float eps,
                            Storage x, Storage gamma, Storage beta, Storage runningMean, Storage runningVar,
                            Storage y, Storage mean, Storage invStd);

    /**
     * Gradients of {@link #batchNorm2dForward}. Training mode accounts for the batch statistics' dependence
     * on x; evaluation mode is a plain per-channel affine map. dx, dgamma, dbeta are overwritten.
     */
    void batchNorm2dBackward(int n, int c, int hw, boolean training,
                             Storage x, Storage dy, Storage gamma, Storage mean, Storage invStd,
                             Storage dx, Storage dgamma, Storage dbeta);

    /**
     * y = max(batchNorm(x), 0): {@link #batchNorm2dForward} with the ReLU applied as each value is written
     * (NaN propagates, as in {@link Unary#RELU}), so training does not pass over the maps a second time. Same
     * arguments and side effects as {@link #batchNorm2dForward}; the default runs the two ops.
     */
    default void batchNorm2dReluForward(int n, int c, int hw, boolean training, float momentum, float eps,
                                        Storage x, Storage gamma, Storage beta, Storage runningMean, Storage runningVar,
                                        Storage y, Storage mean, Storage invStd) {
        batchNorm2dForward(n, c, hw, training, momentum, eps, x, gamma, beta, runningMean, runningVar, y, mean, invStd);
        unary(Unary.RELU, n * c * hw, y, y);
    }

    /**
     * Gradients of {@link #batchNorm2dReluForward}, given its output {@code y} and {@code dy} = ∂L/∂y:
     * {@link #batchNorm2dBackward} of dz = dy·[y &gt; 0] (the ReLU's gradient at 0 is 0, and y &gt; 0 exactly
     * where the normalised value was). dx, dgamma, dbeta are overwritten; the default runs the three ops.
     */
    default void batchNorm2dReluBackward(int n, int c, int hw, boolean training,
                                         Storage x, Storage y, Storage dy, Storage gamma, Storage mean, Storage invStd,
                                         Storage dx, Storage dgamma, Storage dbeta) {
        int[] flat = {n * c * hw};
        Storage dz = allocateForOutput(flat[0]);
        unary(Unary.STEP, flat[0], y, dz);
        binary(Binary.MUL, flat, dz, flat, dy, flat, dz);
        batchNorm2dBackward(n, c, hw, training, x, dz, gamma, mean, invStd, dx, dgamma, dbeta);
        recycle(dz);
    }

    /**
     * maxPool2dForward(p, y, out) after batchNorm2dReluForward(..., y, mean, invStd) (n, c, h·w from {@code p}): the
     * same side effects and outputs, y included (backward needs it); returns the pool's arg-max. The default runs the
     * two; a backend may pool each plane of y while it is still in cache.
     */
    default Storage batchNorm2dReluMaxPoolForward(Pool2dShape p, boolean training, float momentum, float eps, Storage x,
                                                  Storage gamma, Storage beta, Storage runningMean, Storage runningVar,
                                                  Storage y, Storage mean, Storage invStd, Storage out) {
        batchNorm2dReluForward(p.n(), p.c(), p.h() * p.w(), training, momentum, eps, x, gamma, beta, runningMean, runningVar,
                y, mean, invStd);
        return maxPool2dForward(p, y, out);
    }

    /**
     * Gradients of max-pooling {@code p} over {@link #batchNorm2dReluForward}'s output {@code y}, given the pooled
     * gradient {@code dyPool} and the pool's {@code argmax}: {@link #batchNorm2dReluBackward} of dy =
     * {@link #maxPool2dBackward}(dyPool). dx, dgamma, dbeta are overwritten. The default runs the two with a
     * full-size temporary; a backend may route dyPool plane by plane instead and never store dy.
     */
    default void batchNorm2dReluMaxPoolBackward(Pool2dShape p, boolean training, Storage x, Storage y, Storage dyPool,
                                                Storage argmax, Storage gamma, Storage mean, Storage invStd,
                                                Storage dx, Storage dgamma, Storage dbeta) {
        Storage dy = allocateForOutput(p.inputSize());
        maxPool2dBackward(p, dyPool, argmax, dy);
        batchNorm2dReluBackward(p.n(), p.c(), p.h() * p.w(), training, x, y, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        recycle(dy);
    }

    // ---- pooling ----------------------------------------------------------------------------------------

    /**
     * y = max over each window; returns a new int storage with, for every output element, the flat index
     * (h·W + w) within its input plane of the element that won (first one on ties, like PyTorch's CPU code).
     */
    Storage maxPool2dForward(Pool2dShape p, Storage x, Storage y);

    /**
     * y = max over each window, as {@link #maxPool2dForward} writes it, without the arg-max: inference, where
     * no gradient will be routed back, need not allocate and fill it. The default runs the full forward and
     * drops the arg-max, so this is the same y by definition; a backend may override it with a cheaper
     * kernel (a window holding both −0 and +0 may then give either zero).
     */
    default void maxPool2dForwardValues(Pool2dShape p, Storage x, Storage y) {
        maxPool2dForward(p, x, y).close();
    }

    /**
     * y = maxPool2d(conv2d(x, w) + bias, p) for inference, where {@code p} describes pooling the convolution's
     * output [N,K,P,Q]; with {@code relu}, then max(y, 0) (the same as pooling the ReLU of the convolution:
     * max is monotone). A backend may compute it without writing the full-size maps (the CPU backend does for
     * its small convolutions); the default runs the ops one after the other, with a temporary.
     */
    default void conv2dMaxPool2dForward(Conv2dShape s, Pool2dShape p, boolean relu, Storage x, Storage w, Storage bias,
                                        Storage y) {
        Storage maps = allocateForOutput(s.outputSize());
        conv2dForward(s, x, w, bias, maps);
        maxPool2dForwardValues(p, maps, y);
        recycle(maps);
        if (relu) unary(Unary.RELU, p.outputSize(), y, y);
    }

    /**
     * Two {@link #conv2dMaxPool2dForward} blocks in a row, the second reading the first's output: mid = the first
     * block of x, then y = the second block of mid. {@code mid} (p1.outputSize() floats) is the backend's scratch:
     * it may keep the values between the two blocks in a layout of its own and leave mid unwritten (the CPU
     * backend does for a gray image's first convolution followed by a narrow one: images in the vector lanes from
     * one to the other). The default runs the two blocks.
     */
    default void conv2dMaxPool2dPairForward(Conv2dShape s1, Pool2dShape p1, boolean relu1, Storage x, Storage w1, Storage b1,
                                            Conv2dShape s2, Pool2dShape p2, boolean relu2, Storage w2, Storage b2,
                                            Storage mid, Storage y) {
        conv2dMaxPool2dForward(s1, p1, relu1, x, w1, b1, mid);
        conv2dMaxPool2dForward(s2, p2, relu2, mid, w2, b2, y);
    }

    /**
     * y = conv2d(x, w) + bias, then with {@code add} plus what y held before (a residual block's shortcut:
     * (conv + bias) + y, in that order), then with {@code relu} max(y, 0): a convolution with the element-wise
     * ops that follow it in inference. A backend may apply them while the convolution's outputs are in its
     * cache (the CPU backend does for its small and direct convolutions); the default runs the ops one after
     * the other, with a temporary when {@code add}.
     */
    default void conv2dAddReluForward(Conv2dShape s, boolean add, boolean relu, Storage x, Storage w, Storage bias, Storage y) {
        if (add) {
            Storage conv = allocateForOutput(s.outputSize());
            conv2dForward(s, x, w, bias, conv);
            int[] flat = {s.outputSize()};
            binary(Binary.ADD, flat, conv, flat, y, flat, y);
            recycle(conv);
        } else {
            conv2dForward(s, x, w, bias, y);
        }
        if (relu) unary(Unary.RELU, s.outputSize(), y, y);
    }

    /** dx = dy routed to the recorded arg-max positions (overwrites dx; overlapping windows add up). */
    void maxPool2dBackward(Pool2dShape p, Storage dy, Storage argmax, Storage dx);

    /**
     * y = the mean of each window: the sum of its in-bounds elements divided by R·S when
     * {@code countIncludePad} (padded positions count as zeros), else by the number of in-bounds elements
     * (PyTorch's AvgPool2d; a window always holds one, since padding is at most half the window). A window
     * covering the whole plane is global average pooling.
     */
    void avgPool2dForward(Pool2dShape p, boolean countIncludePad, Storage x, Storage y);

    /** dx = ∂L/∂x of {@link #avgPool2dForward}: each dy spread evenly over its window's in-bounds elements,
     *  with the forward's divisor (overwrites dx; overlapping windows add up). */
    void avgPool2dBackward(Pool2dShape p, boolean countIncludePad, Storage dy, Storage dx);

    // ---- loss -------------------------------------------------------------------------------------------

    /**
     * Fused log-softmax + negative log-likelihood over logits [N, C] and int labels [N]: writes
     * logProbs [N, C] and loss[0] = −(1/N)·Σ logProbs[i, label_i]. A label outside [0, C) is an error.
     */
    void crossEntropyForward(int n, int c, Storage logits, Storage labels, Storage logProbs, Storage loss);

    /** dLogits = (softmax − onehot(label)) · dLoss[0] / N. */
    void crossEntropyBackward(int n, int c, Storage logProbs, Storage labels, Storage dLoss, Storage dLogits);

    // ---- optimiser --------------------------------------------------------------------------------------

    /**
     * One SGD step in place, exactly PyTorch's torch.optim.SGD: g = grad + weightDecay·param; with momentum,
     * buf = g on the first step, else buf = momentum·buf + (1−dampening)·g, and g = nesterov ? g + momentum·buf
     * : buf; param −= lr·g. {@code momentumBuf} is null when momentum is 0.
     */
    void sgdStep(int n, float lr, float momentum, float dampening, float weightDecay, boolean nesterov,
                 boolean firstStep, Storage param, Storage grad, Storage momentumBuf);

    /**
     * Bytes of device memory this backend holds now (live storages, buffers kept for reuse, workspaces), or
     * −1 for a backend whose tensors live in the Java heap. Training logs it per epoch: it must stay flat.
     */
    default long deviceBytes() { return -1; }

    /** Blocks until all queued work is done (a no-op on synchronous backends). */
    default void synchronize() {}
}
