// Batch normalisation over x [N,C,HW] per channel (legend: N batch, C channels, HW = H·W, M = N·HW values per
// channel). One work-group per channel computes the statistics (group_sum from reduce.cl); an element-wise
// kernel then applies them. Forward saves mean and invStd = 1/√(var+eps), exactly what backward needs.

#define BN_INDEX(i, ch) ((((i) / hw) * c + (ch)) * hw + (i) % hw)

// Training: the batch statistics, and the running ones updated in place. Every barrier (in group_sum) is
// reached unconditionally: barriers under a branch, even a uniform one, are where OpenCL compilers differ.
__kernel void bn_stats(const int n, const int c, const int hw, const float momentum, const float eps,
                       __global const float* x, __global float* runningMean, __global float* runningVar,
                       __global float* mean, __global float* invStd) {
    __local float s[RED_WG];
    int ch = get_group_id(0), count = n * hw;
    float acc = 0.0f;
    for (int i = get_local_id(0); i < count; i += RED_WG) acc += x[BN_INDEX(i, ch)];
    float mu = group_sum(s, acc) / count;
    // two passes (mean, then squared deviations): E[x²]−E[x]² cancels badly in float
    acc = 0.0f;
    for (int i = get_local_id(0); i < count; i += RED_WG) { float d = x[BN_INDEX(i, ch)] - mu; acc += d * d; }
    float sq = group_sum(s, acc);
    if (get_local_id(0) == 0) {
        float var = sq / count;
        // PyTorch keeps the unbiased variance in the running estimate
        float unbiased = count > 1 ? sq / (count - 1) : var;
        runningMean[ch] = (1.0f - momentum) * runningMean[ch] + momentum * mu;
        runningVar[ch] = (1.0f - momentum) * runningVar[ch] + momentum * unbiased;
        mean[ch] = mu;
        invStd[ch] = 1.0f / sqrt(var + eps);
    }
}

// Evaluation: the running statistics, copied to mean/invStd for the backward pass. One work-item per channel.
__kernel void bn_stats_eval(const int c, const float eps, __global const float* runningMean, __global const float* runningVar,
                            __global float* mean, __global float* invStd) {
    int ch = get_global_id(0);
    if (ch >= c) return;
    mean[ch] = runningMean[ch];
    invStd[ch] = 1.0f / sqrt(runningVar[ch] + eps);
}

// y = γ·(x−mean)·invStd + β
__kernel void bn_apply(const int total, const int c, const int hw, __global const float* x, __global const float* gamma,
                       __global const float* beta, __global const float* mean, __global const float* invStd,
                       __global float* y) {
    int i = get_global_id(0);
    if (i >= total) return;
    int ch = (i / hw) % c;
    y[i] = gamma[ch] * (x[i] - mean[ch]) * invStd[ch] + beta[ch];
}

// dβ = Σ dy, dγ = Σ dy·x̂ per channel.
__kernel void bn_backward_reduce(const int n, const int c, const int hw, __global const float* x, __global const float* dy,
                                 __global const float* mean, __global const float* invStd,
                                 __global float* dgamma, __global float* dbeta) {
    __local float s[RED_WG];
    int ch = get_group_id(0), lid = get_local_id(0), count = n * hw;
    float mu = mean[ch], is = invStd[ch];
    float sdy = 0.0f, sdyx = 0.0f;
    for (int i = lid; i < count; i += RED_WG) {
        int idx = BN_INDEX(i, ch);
        sdy += dy[idx];
        sdyx += dy[idx] * (x[idx] - mu) * is;
    }
    float tdy = group_sum(s, sdy);
    float tdyx = group_sum(s, sdyx);
    if (get_local_id(0) == 0) { dbeta[ch] = tdy; dgamma[ch] = tdyx; }
}

// Training: dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)); evaluation: dx = γ·invStd·dy.
__kernel void bn_backward_dx(const int total, const int c, const int hw, const int count, const int training,
                             __global const float* x, __global const float* dy, __global const float* gamma,
                             __global const float* mean, __global const float* invStd,
                             __global const float* dgamma, __global const float* dbeta, __global float* dx) {
    int i = get_global_id(0);
    if (i >= total) return;
    int ch = (i / hw) % c;
    float is = invStd[ch];
    if (training) {
        float xhat = (x[i] - mean[ch]) * is;
        dx[i] = gamma[ch] * is / count * (count * dy[i] - dbeta[ch] - xhat * dgamma[ch]);
    } else {
        dx[i] = gamma[ch] * is * dy[i];
    }
}
