package dev.shears.core.reference;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;

import static dev.shears.core.HeapStorage.floats;
import static dev.shears.core.HeapStorage.ints;

/**
 * The scalar reference backend: plain loops over float arrays, one thread, written to be read. It is the
 * specification of {@link Backend}; every fast backend is tested against it. Sums accumulate in double so
 * that the reference is the more accurate side of every comparison.
 */
public class ReferenceBackend implements Backend {

    public static final ReferenceBackend INSTANCE = new ReferenceBackend();

    @Override public String name() { return "reference"; }

    // ---- memory ----

    @Override public Storage allocate(int length) { return HeapStorage.ofFloats(this, new float[length]); }
    @Override public Storage upload(float[] data) { return HeapStorage.ofFloats(this, data.clone()); }
    @Override public Storage uploadInts(int[] data) { return HeapStorage.ofInts(this, data.clone()); }
    @Override public float[] download(Storage s) { return floats(s).clone(); }

    @Override public void fill(int n, float value, Storage y) { java.util.Arrays.fill(floats(y), 0, n, value); }

    @Override public void copy(int n, Storage x, Storage y) { System.arraycopy(floats(x), 0, floats(y), 0, n); }

    @Override
    public void copyStrided(int rows, int cols, Storage xs, int xOffset, int xStride, Storage ys, int yOffset, int yStride) {
        float[] x = floats(xs), y = floats(ys);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) y[yOffset + i * yStride + j] = x[xOffset + i * xStride + j];
    }

    // ---- element-wise ----

    @Override
    public void unary(Unary op, int n, Storage xs, Storage ys) {
        float[] x = floats(xs), y = floats(ys);
        for (int i = 0; i < n; i++) y[i] = unary(op, x[i]);
    }

    /** The scalar definition of each unary op, shared with the SIMD backend's tails. */
    public static float unary(Unary op, float v) {
        return switch (op) {
            case NEG -> -v;
            case EXP -> (float) Math.exp(v);
            case LOG -> (float) Math.log(v);
            case SQRT -> (float) Math.sqrt(v);
            case ABS -> Math.abs(v);
            case SIGN -> Math.signum(v);
            case RELU -> Math.max(v, 0f);   // NaN propagates, as in PyTorch
            case STEP -> v > 0 ? 1f : 0f;
            case SQUARE -> v * v;
        };
    }

    @Override
    public void affine(int n, float alpha, float beta, Storage xs, Storage ys) {
        float[] x = floats(xs), y = floats(ys);
        for (int i = 0; i < n; i++) y[i] = alpha * x[i] + beta;
    }

    public static float binary(Binary op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
        };
    }

    @Override
    public void binary(Binary op, int[] outShape, Storage as, int[] aShape, Storage bs, int[] bShape, Storage outs) {
        float[] a = floats(as), b = floats(bs), out = floats(outs);
        int rank = outShape.length;
        int[] aStride = broadcastStrides(aShape), bStride = broadcastStrides(bShape);
        int[] idx = new int[rank];
        int total = out.length == 0 ? 0 : product(outShape);
        for (int i = 0; i < total; i++) {
            // decompose i into a multi-index, then address a and b through their (possibly zero) strides
            int rem = i, ai = 0, bi = 0;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d] = rem % outShape[d];
                rem /= outShape[d];
                ai += idx[d] * aStride[d];
                bi += idx[d] * bStride[d];
            }
            out[i] = binary(op, a[ai], b[bi]);
        }
    }

    /** Row-major strides, with 0 for every dimension of size 1 so that it is broadcast. */
    public static int[] broadcastStrides(int[] shape) {
        int[] stride = new int[shape.length];
        int s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            stride[d] = shape[d] == 1 ? 0 : s;
            s *= shape[d];
        }
        return stride;
    }

    public static int product(int[] shape) {
        int p = 1;
        for (int d : shape) p *= d;
        return p;
    }

    @Override
    public void sumTo(int[] xShape, Storage xs, int[] outShape, Storage outs) {
        float[] x = floats(xs), out = floats(outs);
        int rank = xShape.length;
        int[] oStride = broadcastStrides(outShape);
        double[] acc = new double[product(outShape)];
        int total = product(xShape);
        for (int i = 0; i < total; i++) {
            int rem = i, oi = 0;
            for (int d = rank - 1; d >= 0; d--) {
                oi += (rem % xShape[d]) * oStride[d];
                rem /= xShape[d];
            }
            acc[oi] += x[i];
        }
        for (int i = 0; i < acc.length; i++) out[i] = (float) acc[i];
    }

    @Override
    public void permute(int[] xShape, int[] perm, Storage xs, Storage ys) {
        float[] x = floats(xs), y = floats(ys);
        int rank = xShape.length;
        int[] xStride = new int[rank];
        for (int d = rank - 1, s = 1; d >= 0; s *= xShape[d], d--) xStride[d] = s;
        int[] yShape = new int[rank];
        for (int d = 0; d < rank; d++) yShape[d] = xShape[perm[d]];
        int total = product(xShape);
        for (int i = 0; i < total; i++) {
            int rem = i, xi = 0;
            for (int d = rank - 1; d >= 0; d--) {
                xi += (rem % yShape[d]) * xStride[perm[d]];
                rem /= yShape[d];
            }
            y[i] = x[xi];
        }
    }

    // ---- matrices ----

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float alpha, Storage as, Storage bs, float beta, Storage cs) {
        float[] a = floats(as), b = floats(bs), c = floats(cs);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[p * m + i] : a[i * k + p];
                    float bv = transB ? b[j * k + p] : b[p * n + j];
                    sum += (double) av * bv;
                }
                float old = beta == 0f ? 0f : beta * c[i * n + j];
                c[i * n + j] = (float) (alpha * sum) + old;
            }
        }
    }

    // ---- convolution: the direct seven-loop definition ----

    // Grouped convolution: output channel k reads input channels c0(k) .. c0(k) + C/G − 1, c0(k) = (k / (K/G))·C/G,
    // and its weight row w[k, c − c0(k), r, s]. With G = 1 this is the plain 7-loop convolution.

    @Override
    public void conv2dForward(Conv2dShape sh, Storage xs, Storage ws, Storage biasS, Storage ys) {
        float[] x = floats(xs), w = floats(ws), y = floats(ys);
        float[] bias = biasS == null ? null : floats(biasS);
        int P = sh.p(), Q = sh.q(), cg = sh.cPerGroup();
        for (int n = 0; n < sh.n(); n++)
            for (int k = 0; k < sh.k(); k++) {
                int c0 = k / sh.kPerGroup() * cg;
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        double sum = bias == null ? 0 : bias[k];
                        for (int cw = 0; cw < cg; cw++)
                            for (int r = 0; r < sh.r(); r++) {
                                int h = p * sh.strideH() - sh.padH() + r;
                                if (h < 0 || h >= sh.h()) continue;
                                for (int s = 0; s < sh.s(); s++) {
                                    int wi = q * sh.strideW() - sh.padW() + s;
                                    if (wi < 0 || wi >= sh.w()) continue;
                                    sum += (double) x[((n * sh.c() + c0 + cw) * sh.h() + h) * sh.w() + wi]
                                            * w[((k * cg + cw) * sh.r() + r) * sh.s() + s];
                                }
                            }
                        y[((n * sh.k() + k) * P + p) * Q + q] = (float) sum;
                    }
            }
    }

    @Override
    public void conv2dBackwardData(Conv2dShape sh, Storage dys, Storage ws, Storage dxs) {
        float[] dy = floats(dys), w = floats(ws), dx = floats(dxs);
        double[] acc = new double[sh.inputSize()];
        int P = sh.p(), Q = sh.q(), cg = sh.cPerGroup();
        for (int n = 0; n < sh.n(); n++)
            for (int k = 0; k < sh.k(); k++) {
                int c0 = k / sh.kPerGroup() * cg;
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        float g = dy[((n * sh.k() + k) * P + p) * Q + q];
                        for (int cw = 0; cw < cg; cw++)
                            for (int r = 0; r < sh.r(); r++) {
                                int h = p * sh.strideH() - sh.padH() + r;
                                if (h < 0 || h >= sh.h()) continue;
                                for (int s = 0; s < sh.s(); s++) {
                                    int wi = q * sh.strideW() - sh.padW() + s;
                                    if (wi < 0 || wi >= sh.w()) continue;
                                    acc[((n * sh.c() + c0 + cw) * sh.h() + h) * sh.w() + wi]
                                            += (double) g * w[((k * cg + cw) * sh.r() + r) * sh.s() + s];
                                }
                            }
                    }
            }
        for (int i = 0; i < acc.length; i++) dx[i] = (float) acc[i];
    }

    @Override
    public void conv2dBackwardWeight(Conv2dShape sh, Storage xs, Storage dys, Storage dws, Storage dbiasS) {
        float[] x = floats(xs), dy = floats(dys), dw = floats(dws);
        double[] acc = new double[sh.weightSize()];
        double[] bacc = new double[sh.k()];
        int P = sh.p(), Q = sh.q(), cg = sh.cPerGroup();
        for (int n = 0; n < sh.n(); n++)
            for (int k = 0; k < sh.k(); k++) {
                int c0 = k / sh.kPerGroup() * cg;
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        float g = dy[((n * sh.k() + k) * P + p) * Q + q];
                        bacc[k] += g;
                        for (int cw = 0; cw < cg; cw++)
                            for (int r = 0; r < sh.r(); r++) {
                                int h = p * sh.strideH() - sh.padH() + r;
                                if (h < 0 || h >= sh.h()) continue;
                                for (int s = 0; s < sh.s(); s++) {
                                    int wi = q * sh.strideW() - sh.padW() + s;
                                    if (wi < 0 || wi >= sh.w()) continue;
                                    acc[((k * cg + cw) * sh.r() + r) * sh.s() + s]
                                            += (double) g * x[((n * sh.c() + c0 + cw) * sh.h() + h) * sh.w() + wi];
                                }
                            }
                    }
            }
        for (int i = 0; i < acc.length; i++) dw[i] = (float) acc[i];
        if (dbiasS != null) {
            float[] db = floats(dbiasS);
            for (int k = 0; k < sh.k(); k++) db[k] = (float) bacc[k];
        }
    }

    // ---- batch normalisation ----

    @Override
    public void batchNorm2dForward(int n, int c, int hw, boolean training, float momentum, float eps,
                                   Storage xs, Storage gs, Storage bs, Storage rms, Storage rvs,
                                   Storage ys, Storage means, Storage invStds) {
        float[] x = floats(xs), gamma = floats(gs), beta = floats(bs), rm = floats(rms), rv = floats(rvs);
        float[] y = floats(ys), mean = floats(means), invStd = floats(invStds);
        int count = n * hw;
        for (int ch = 0; ch < c; ch++) {
            double mu, var;
            if (training) {
                double sum = 0, sq = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < hw; j++) sum += x[(i * c + ch) * hw + j];
                mu = sum / count;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < hw; j++) {
                        double d = x[(i * c + ch) * hw + j] - mu;
                        sq += d * d;
                    }
                var = sq / count;
                // PyTorch keeps the unbiased variance in its running estimate (and refuses count == 1)
                double unbiased = count > 1 ? sq / (count - 1) : var;
                rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * mu);
                rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * unbiased);
            } else {
                mu = rm[ch];
                var = rv[ch];
            }
            double is = 1.0 / Math.sqrt(var + eps);
            mean[ch] = (float) mu;
            invStd[ch] = (float) is;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    int idx = (i * c + ch) * hw + j;
                    y[idx] = (float) (gamma[ch] * (x[idx] - mu) * is + beta[ch]);
                }
        }
    }

    @Override
    public void batchNorm2dBackward(int n, int c, int hw, boolean training,
                                    Storage xs, Storage dys, Storage gs, Storage means, Storage invStds,
                                    Storage dxs, Storage dgs, Storage dbs) {
        float[] x = floats(xs), dy = floats(dys), gamma = floats(gs), mean = floats(means), invStd = floats(invStds);
        float[] dx = floats(dxs), dgamma = floats(dgs), dbeta = floats(dbs);
        int count = n * hw;
        for (int ch = 0; ch < c; ch++) {
            double sumDy = 0, sumDyXhat = 0;
            double mu = mean[ch], is = invStd[ch];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    int idx = (i * c + ch) * hw + j;
                    sumDy += dy[idx];
                    sumDyXhat += dy[idx] * (x[idx] - mu) * is;
                }
            dbeta[ch] = (float) sumDy;
            dgamma[ch] = (float) sumDyXhat;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    int idx = (i * c + ch) * hw + j;
                    if (training) {
                        // dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
                        double xhat = (x[idx] - mu) * is;
                        dx[idx] = (float) (gamma[ch] * is / count * (count * dy[idx] - sumDy - xhat * sumDyXhat));
                    } else {
                        dx[idx] = (float) (gamma[ch] * is * dy[idx]);
                    }
                }
        }
    }

    // ---- pooling ----

    @Override
    public Storage maxPool2dForward(Pool2dShape p, Storage xs, Storage ys) {
        float[] x = floats(xs), y = floats(ys);
        int P = p.p(), Q = p.q();
        int[] argmax = new int[p.outputSize()];
        for (int plane = 0; plane < p.n() * p.c(); plane++)
            for (int i = 0; i < P; i++)
                for (int j = 0; j < Q; j++) maxPoolWindow(p, x, plane * p.h() * p.w(), i, j, y, argmax, (plane * P + i) * Q + j);
        return HeapStorage.ofInts(this, argmax);
    }

    /**
     * The definition of one max-pool output: y[o] = the maximum of output (i, j)'s window in the plane at
     * {@code xOff}, argmax[o] = its flat index h·W + w. Shared with the SIMD backend's scalar tails.
     */
    public static void maxPoolWindow(Pool2dShape p, float[] x, int xOff, int i, int j, float[] y, int[] argmax, int o) {
        float best = Float.NEGATIVE_INFINITY;
        int bestAt = -1;
        for (int r = 0; r < p.r(); r++) {
            int h = i * p.strideH() - p.padH() + r;
            if (h < 0 || h >= p.h()) continue;
            for (int s = 0; s < p.s(); s++) {
                int w = j * p.strideW() - p.padW() + s;
                if (w < 0 || w >= p.w()) continue;
                float v = x[xOff + h * p.w() + w];
                // strict '>' keeps the first maximum; a NaN wins, so it propagates as in PyTorch
                if (v > best || bestAt < 0 || Float.isNaN(v)) { best = v; bestAt = h * p.w() + w; }
            }
        }
        y[o] = best;
        argmax[o] = bestAt;
    }

    @Override
    public void maxPool2dBackward(Pool2dShape p, Storage dys, Storage argmaxS, Storage dxs) {
        float[] dy = floats(dys), dx = floats(dxs);
        int[] argmax = ints(argmaxS);
        java.util.Arrays.fill(dx, 0, p.inputSize(), 0f);
        int plane = p.p() * p.q(), inPlane = p.h() * p.w();
        for (int o = 0; o < p.outputSize(); o++) dx[(o / plane) * inPlane + argmax[o]] += dy[o];
    }

    @Override
    public void avgPool2dForward(Pool2dShape p, boolean countIncludePad, Storage xs, Storage ys) {
        float[] x = floats(xs), y = floats(ys);
        int P = p.p(), Q = p.q();
        for (int plane = 0; plane < p.n() * p.c(); plane++)
            for (int i = 0; i < P; i++)
                for (int j = 0; j < Q; j++) {
                    double sum = 0;
                    for (int h = rowStart(p, i); h < rowEnd(p, i); h++)
                        for (int w = colStart(p, j); w < colEnd(p, j); w++) sum += x[(plane * p.h() + h) * p.w() + w];
                    y[(plane * P + i) * Q + j] = (float) (sum / avgPoolDivisor(p, countIncludePad, i, j));
                }
    }

    @Override
    public void avgPool2dBackward(Pool2dShape p, boolean countIncludePad, Storage dys, Storage dxs) {
        float[] dy = floats(dys), dx = floats(dxs);
        double[] acc = new double[p.inputSize()];
        int P = p.p(), Q = p.q();
        for (int plane = 0; plane < p.n() * p.c(); plane++)
            for (int i = 0; i < P; i++)
                for (int j = 0; j < Q; j++) {
                    double g = dy[(plane * P + i) * Q + j] / (double) avgPoolDivisor(p, countIncludePad, i, j);
                    for (int h = rowStart(p, i); h < rowEnd(p, i); h++)
                        for (int w = colStart(p, j); w < colEnd(p, j); w++) acc[(plane * p.h() + h) * p.w() + w] += g;
                }
        for (int i = 0; i < acc.length; i++) dx[i] = (float) acc[i];
    }

    // The in-bounds rows [rowStart, rowEnd) and columns [colStart, colEnd) of output (i, j)'s window; shared
    // with the fast backends' pooling loops.
    public static int rowStart(Pool2dShape p, int i) { return Math.max(0, i * p.strideH() - p.padH()); }
    public static int rowEnd(Pool2dShape p, int i) { return Math.min(p.h(), i * p.strideH() - p.padH() + p.r()); }
    public static int colStart(Pool2dShape p, int j) { return Math.max(0, j * p.strideW() - p.padW()); }
    public static int colEnd(Pool2dShape p, int j) { return Math.min(p.w(), j * p.strideW() - p.padW() + p.s()); }

    /**
     * What output (i, j) of an average pooling divides by: R·S with count_include_pad, else the number of
     * in-bounds elements of its window. Shared with the fast backends' border code.
     */
    public static int avgPoolDivisor(Pool2dShape p, boolean countIncludePad, int i, int j) {
        if (countIncludePad) return p.r() * p.s();
        return (rowEnd(p, i) - rowStart(p, i)) * (colEnd(p, j) - colStart(p, j));
    }

    // ---- loss ----

    @Override
    public void crossEntropyForward(int n, int c, Storage logitsS, Storage labelsS, Storage logProbsS, Storage lossS) {
        float[] logits = floats(logitsS), logProbs = floats(logProbsS), loss = floats(lossS);
        int[] labels = ints(labelsS);
        double total = 0;
        for (int i = 0; i < n; i++) {
            int label = labels[i];
            if (label < 0 || label >= c)
                throw new IllegalArgumentException("cross_entropy: label " + label + " of sample " + i + " is outside [0, " + c + ")");
            // subtract the row maximum so exp never overflows (the log-sum-exp trick)
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) max = Math.max(max, logits[i * c + j]);
            double sum = 0;
            for (int j = 0; j < c; j++) sum += Math.exp(logits[i * c + j] - max);
            double lse = max + Math.log(sum);
            for (int j = 0; j < c; j++) logProbs[i * c + j] = (float) (logits[i * c + j] - lse);
            total -= logits[i * c + label] - lse;
        }
        loss[0] = (float) (total / n);
    }

    @Override
    public void crossEntropyBackward(int n, int c, Storage logProbsS, Storage labelsS, Storage dLossS, Storage dLogitsS) {
        float[] logProbs = floats(logProbsS), dLogits = floats(dLogitsS);
        int[] labels = ints(labelsS);
        float scale = floats(dLossS)[0] / n;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                float softmax = (float) Math.exp(logProbs[i * c + j]);
                dLogits[i * c + j] = (softmax - (j == labels[i] ? 1f : 0f)) * scale;
            }
    }

    // ---- optimiser ----

    @Override
    public void sgdStep(int n, float lr, float momentum, float dampening, float weightDecay, boolean nesterov,
                        boolean firstStep, Storage paramS, Storage gradS, Storage bufS) {
        float[] param = floats(paramS), grad = floats(gradS);
        float[] buf = bufS == null ? null : floats(bufS);
        for (int i = 0; i < n; i++) {
            float g = grad[i] + weightDecay * param[i];
            if (buf != null) {
                buf[i] = firstStep ? g : momentum * buf[i] + (1 - dampening) * g;
                g = nesterov ? g + momentum * buf[i] : buf[i];
            }
            param[i] -= lr * g;
        }
    }
}
