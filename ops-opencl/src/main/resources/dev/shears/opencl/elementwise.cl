// Element-wise kernels over flat float buffers: one work-item per element, guarded by n because the host
// rounds the global size up to a multiple of the work-group size.
//
// Shapes for broadcasting and permutation come padded with leading 1s to MAX_RANK and are passed by value
// as int8 vectors (no extra buffer per call); vstore8 copies them into private arrays so they can be indexed.

#define MAX_RANK 8

// Ordinals of Backend.Unary; keep in step with the Java enum (checked by OpenClBackend at class load).
#define U_NEG 0
#define U_EXP 1
#define U_LOG 2
#define U_SQRT 3
#define U_ABS 4
#define U_SIGN 5
#define U_RELU 6
#define U_STEP 7
#define U_SQUARE 8

__kernel void unary_op(const int op, const int n, __global const float* x, __global float* y) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = x[i];
    float r;
    switch (op) {
        case U_NEG: r = -v; break;
        case U_EXP: r = exp(v); break;
        case U_LOG: r = log(v); break;
        case U_SQRT: r = sqrt(v); break;
        case U_ABS: r = fabs(v); break;
        // not OpenCL's sign(): that maps NaN to 0, Java's signum (the reference) keeps NaN and ±0
        case U_SIGN: r = v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v); break;
        // not fmax(v, 0): fmax drops a NaN, and a NaN must propagate as in PyTorch
        case U_RELU: r = isnan(v) ? v : (v > 0.0f ? v : 0.0f); break;
        case U_STEP: r = v > 0.0f ? 1.0f : 0.0f; break;
        default: r = v * v; break;   // U_SQUARE
    }
    y[i] = r;
}

__kernel void affine(const int n, const float alpha, const float beta, __global const float* x, __global float* y) {
    int i = get_global_id(0);
    if (i < n) y[i] = alpha * x[i] + beta;
}

// Ordinals of Backend.Binary.
#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3
#define B_MAX 4
#define B_MIN 5

float binary_apply(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        // Java's Math.max/min propagate NaN; fmax/fmin would not
        case B_MAX: return (isnan(a) || isnan(b)) ? a + b : fmax(a, b);
        default:    return (isnan(a) || isnan(b)) ? a + b : fmin(a, b);
    }
}

// out[i] = a[ai] op b[bi]; the strides of a broadcast dimension are 0.
__kernel void binary_bcast(const int op, const int total, const int8 outShape8, const int8 aStride8, const int8 bStride8,
                           __global const float* a, __global const float* b, __global float* out) {
    int i = get_global_id(0);
    if (i >= total) return;
    int shape[MAX_RANK], as[MAX_RANK], bs[MAX_RANK];
    vstore8(outShape8, 0, shape);
    vstore8(aStride8, 0, as);
    vstore8(bStride8, 0, bs);
    int rem = i, ai = 0, bi = 0;
    for (int d = MAX_RANK - 1; d >= 0; d--) {
        int idx = rem % shape[d];
        rem /= shape[d];
        ai += idx * as[d];
        bi += idx * bs[d];
    }
    out[i] = binary_apply(op, a[ai], b[bi]);
}

// Same shapes, the common case in a training step: no index arithmetic.
__kernel void binary_same(const int op, const int total, __global const float* a, __global const float* b, __global float* out) {
    int i = get_global_id(0);
    if (i < total) out[i] = binary_apply(op, a[i], b[i]);
}

// y[i] = x[xi] where y's dimension d is x's dimension perm[d]; xStride8 holds x's strides already permuted.
__kernel void permute(const int total, const int8 yShape8, const int8 xStride8, __global const float* x, __global float* y) {
    int i = get_global_id(0);
    if (i >= total) return;
    int shape[MAX_RANK], xs[MAX_RANK];
    vstore8(yShape8, 0, shape);
    vstore8(xStride8, 0, xs);
    int rem = i, xi = 0;
    for (int d = MAX_RANK - 1; d >= 0; d--) {
        xi += (rem % shape[d]) * xs[d];
        rem /= shape[d];
    }
    y[i] = x[xi];
}

// SGD as torch.optim.SGD, in place: g = grad + wd·p; buf = first ? g : m·buf + (1−dampening)·g;
// g = nesterov ? g + m·buf : buf; p −= lr·g. hasBuf = 0 means no momentum (buf is a dummy).
__kernel void sgd_step(const int n, const float lr, const float momentum, const float dampening, const float weightDecay,
                       const int nesterov, const int firstStep, const int hasBuf,
                       __global float* param, __global const float* grad, __global float* buf) {
    int i = get_global_id(0);
    if (i >= n) return;
    float g = grad[i] + weightDecay * param[i];
    if (hasBuf) {
        float bv = firstStep ? g : momentum * buf[i] + (1.0f - dampening) * g;
        buf[i] = bv;
        g = nesterov ? g + momentum * bv : bv;
    }
    param[i] -= lr * g;
}

// y[yOffset + i·yStride + j] = x[xOffset + i·xStride + j] for i < rows, j < cols (concatenation and its backward)
__kernel void copy_strided(const int rows, const int cols, __global const float* x, const int xOffset, const int xStride,
                           __global float* y, const int yOffset, const int yStride) {
    int t = get_global_id(0);
    if (t >= rows * cols) return;
    int i = t / cols, j = t % cols;
    y[yOffset + (long) i * yStride + j] = x[xOffset + (long) i * xStride + j];
}
