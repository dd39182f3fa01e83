// Batch normalisation over x [N,C,HW] per channel (legend: N batch, C channels, HW = H·W, M = N·HW values per
// channel). Work-groups compute the per-channel sums (group_sum from reduce.cl), one work-item per channel
// combines them, and an element-wise kernel applies the result. Forward saves mean and invStd = 1/√(var+eps), exactly what backward needs.

#define BN_INDEX(i, ch) ((((i) / hw) * c + (ch)) * hw + (i) % hw)

// Training statistics in two stages, so that a channel's M values are spread over G work-groups (a GPU has
// far more cores than a layer has channels). Stage 1: group ch·G + g takes the channel's values
// [g·chunk, (g+1)·chunk) and writes (count, mean, M2 = Σ(x−mean)²) of its slice, two passes over the slice since
// E[x²]−E[x]² cancels badly in float. Every barrier (in group_sum) is reached unconditionally: barriers under a
// branch, even a uniform one, are where OpenCL compilers differ (PoCL ran code after one once per work-item).
__kernel void bn_stats_partial(const int n, const int c, const int hw, const int chunk, const int G,
                               __global const float* x, __global float* partial) {
    __local float s[RED_WG];
    int ch = get_group_id(0) / G, g = get_group_id(0) % G;
    int lo = g * chunk, hi = min(n * hw, lo + chunk), cnt = max(0, hi - lo);
    float acc = 0.0f;
    for (int i = lo + get_local_id(0); i < hi; i += RED_WG) acc += x[BN_INDEX(i, ch)];
    float sum = group_sum(s, acc);
    float mu = cnt > 0 ? sum / cnt : 0.0f;
    acc = 0.0f;
    for (int i = lo + get_local_id(0); i < hi; i += RED_WG) { float d = x[BN_INDEX(i, ch)] - mu; acc += d * d; }
    float m2 = group_sum(s, acc);
    if (get_local_id(0) == 0) {
        partial[3 * get_group_id(0)] = cnt;
        partial[3 * get_group_id(0) + 1] = mu;
        partial[3 * get_group_id(0) + 2] = m2;
    }
}

// Stage 2, one work-item per channel: merge the G slices with Chan et al.'s pairwise update
// (mean += δ·nb/n, M2 += M2b + δ²·na·nb/n), then write mean, invStd and the running statistics
// (PyTorch keeps the unbiased variance in the running estimate).
__kernel void bn_stats_finish(const int c, const int G, const float momentum, const float eps,
                              __global const float* partial, __global float* runningMean, __global float* runningVar,
                              __global float* mean, __global float* invStd) {
    int ch = get_global_id(0);
    if (ch >= c) return;
    float na = 0.0f, mu = 0.0f, m2 = 0.0f;
    for (int g = 0; g < G; g++) {
        __global const float* p = partial + 3 * (ch * G + g);
        float nb = p[0];
        if (nb == 0.0f) continue;
        float n = na + nb, delta = p[1] - mu;
        mu += delta * nb / n;
        m2 += p[2] + delta * delta * na * nb / n;
        na = n;
    }
    float var = m2 / na;
    float unbiased = na > 1.0f ? m2 / (na - 1.0f) : var;
    runningMean[ch] = (1.0f - momentum) * runningMean[ch] + momentum * mu;
    runningVar[ch] = (1.0f - momentum) * runningVar[ch] + momentum * unbiased;
    mean[ch] = mu;
    invStd[ch] = 1.0f / sqrt(var + eps);
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

// dβ = Σ dy, dγ = Σ dy·x̂ per channel, in the same two stages as the statistics: slice partial sums
// (partial[2·(ch·G + g)] = Σdy, [+1] = Σdy·x̂), then one work-item per channel adds its G slices.
__kernel void bn_backward_partial(const int n, const int c, const int hw, const int chunk, const int G,
                                  __global const float* x, __global const float* dy,
                                  __global const float* mean, __global const float* invStd, __global float* partial) {
    __local float s[RED_WG];
    int ch = get_group_id(0) / G, g = get_group_id(0) % G;
    int hi = min(n * hw, (g + 1) * chunk);
    float mu = mean[ch], is = invStd[ch];
    float sdy = 0.0f, sdyx = 0.0f;
    for (int i = g * chunk + get_local_id(0); i < hi; i += RED_WG) {
        int idx = BN_INDEX(i, ch);
        sdy += dy[idx];
        sdyx += dy[idx] * (x[idx] - mu) * is;
    }
    float tdy = group_sum(s, sdy);
    float tdyx = group_sum(s, sdyx);
    if (get_local_id(0) == 0) { partial[2 * get_group_id(0)] = tdy; partial[2 * get_group_id(0) + 1] = tdyx; }
}

__kernel void bn_backward_finish(const int c, const int G, __global const float* partial,
                                 __global float* dgamma, __global float* dbeta) {
    int ch = get_global_id(0);
    if (ch >= c) return;
    float sdy = 0.0f, sdyx = 0.0f;
    for (int g = 0; g < G; g++) { sdy += partial[2 * (ch * G + g)]; sdyx += partial[2 * (ch * G + g) + 1]; }
    dbeta[ch] = sdy;
    dgamma[ch] = sdyx;
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
