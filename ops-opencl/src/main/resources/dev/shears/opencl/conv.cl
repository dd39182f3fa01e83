// Convolution as im2col + GEMM. Legend (as in Conv2dShape): N batch, C input channels, H×W input, K filters,
// R×S kernel, P×Q output; x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q]. The host processes the batch in chunks of
// NB samples starting at sample n0, so that the column matrix fits a bounded workspace:
//
//   col [C·R·S, NB·P·Q]    col[(c·R + r)·S + s, nb·PQ + p·Q + q] = x[n0+nb, c, p·strideH−padH+r, q·strideW−padW+s] (0 in the padding)
//   forward:        tmp [K, NB·PQ] = w [K, CRS] · col                   then y[n0+nb, k, pq] = tmp[k, nb·PQ + pq] + bias[k]
//   backward-data:  tmp [K, NB·PQ] ← dy (the same reshuffle, reversed);  dcol = wᵀ · tmp;  dx = col2im(dcol)
//   backward-weight: tmp ← dy;  dw (+)= tmp · colᵀ  (beta = 1 after the first chunk)

#define CONV_ARGS const int C, const int H, const int W, const int R, const int S, const int P, const int Q, \
                  const int strideH, const int strideW, const int padH, const int padW

// One work-item per (c, column): it reads the R×S window of one input channel and writes R·S rows of its
// column, so the index arithmetic is done once per window rather than once per element; consecutive
// work-items write consecutive addresses of each row.
__kernel void im2col(CONV_ARGS, const int n0, const int nb, __global const float* x, __global float* col) {
    int t = get_global_id(0);
    int PQ = P * Q, cols = nb * PQ;
    if (t >= C * cols) return;
    int colIdx = t % cols, c = t / cols;
    int q = colIdx % Q, p = (colIdx / Q) % P, b = colIdx / PQ;
    __global const float* xc = x + (((long) (n0 + b) * C + c) * H) * W;
    __global float* out = col + (long) c * R * S * cols + colIdx;
    int h0 = p * strideH - padH, w0 = q * strideW - padW;
    for (int r = 0; r < R; r++) {
        int h = h0 + r;
        for (int s = 0; s < S; s++) {
            int w = w0 + s;
            out[(long) (r * S + s) * cols] = (h >= 0 && h < H && w >= 0 && w < W) ? xc[h * W + w] : 0.0f;
        }
    }
}

// dx[n0+b, c, h, w] = Σ over the (r, s, p, q) that read (h, w) of dcol; a gather, so no atomics are needed.
__kernel void col2im(CONV_ARGS, const int n0, const int nb, __global const float* dcol, __global float* dx) {
    int t = get_global_id(0);
    if (t >= nb * C * H * W) return;
    int w = t % W, h = (t / W) % H, c = (t / (H * W)) % C, b = t / (C * H * W);
    int PQ = P * Q, cols = nb * PQ;
    float acc = 0.0f;
    for (int r = 0; r < R; r++) {
        int ph = h + padH - r;                     // = p·strideH when this tap of row r reads h
        if (ph < 0 || ph % strideH != 0) continue;
        int p = ph / strideH;
        if (p >= P) continue;
        for (int s = 0; s < S; s++) {
            int qw = w + padW - s;
            if (qw < 0 || qw % strideW != 0) continue;
            int q = qw / strideW;
            if (q >= Q) continue;
            acc += dcol[(long) ((c * R + r) * S + s) * cols + b * PQ + p * Q + q];
        }
    }
    dx[(long) n0 * C * H * W + t] = acc;
}

// y[n0+b, k, pq] = tmp[k, b·PQ + pq] (+ bias[k] when hasBias)
__kernel void kpq_to_nkpq(const int K, const int PQ, const int n0, const int nb, const int hasBias,
                          __global const float* tmp, __global const float* bias, __global float* y) {
    int t = get_global_id(0);
    if (t >= nb * K * PQ) return;
    int pq = t % PQ, k = (t / PQ) % K, b = t / (K * PQ);
    float v = tmp[(long) k * nb * PQ + b * PQ + pq];
    y[(long) n0 * K * PQ + t] = hasBias ? v + bias[k] : v;
}

// tmp[k, b·PQ + pq] = dy[n0+b, k, pq]: the inverse of kpq_to_nkpq
__kernel void nkpq_to_kpq(const int K, const int PQ, const int n0, const int nb,
                          __global const float* dy, __global float* tmp) {
    int t = get_global_id(0);
    if (t >= nb * K * PQ) return;
    int pq = t % PQ, k = (t / PQ) % K, b = t / (K * PQ);
    tmp[(long) k * nb * PQ + b * PQ + pq] = dy[(long) n0 * K * PQ + t];
}

// Depthwise convolution (C/G = 1: filter k reads channel c = k / M, M = K/C filters per channel; w [K,1,R,S]).
// im2col + one GEMM per group would launch C tiny GEMMs of inner dimension R·S; these are direct loops.
//   forward:          y[n,k,p,q]  = bias[k] + Σ_rs w[k,r,s] · x[n, c, p·strideH−padH+r, q·strideW−padW+s]
//   backward-data:    dx[n,c,h,w] = Σ_{k of c} Σ_{(r,s,p,q) reading (h,w)} w[k,r,s] · dy[n,k,p,q]   (a gather)
//   backward-weight:  dw[k,r,s]   = Σ_{n,p,q} dy[n,k,p,q] · x[n,c,...]   (one work-group per weight)

__kernel void depthwise_forward(CONV_ARGS, const int N, const int K, const int hasBias,
                                __global const float* x, __global const float* w, __global const float* bias, __global float* y) {
    int o = get_global_id(0);
    if (o >= N * K * P * Q) return;
    int q = o % Q, p = (o / Q) % P, k = (o / (P * Q)) % K, n = o / (K * P * Q), c = k / (K / C);
    __global const float* xc = x + ((long) n * C + c) * H * W;
    __global const float* wk = w + k * R * S;
    float acc = hasBias ? bias[k] : 0.0f;
    for (int r = 0; r < R; r++) {
        int h = p * strideH - padH + r;
        if (h < 0 || h >= H) continue;
        for (int s = 0; s < S; s++) {
            int col = q * strideW - padW + s;
            if (col >= 0 && col < W) acc += xc[h * W + col] * wk[r * S + s];
        }
    }
    y[o] = acc;
}

__kernel void depthwise_backward_data(CONV_ARGS, const int N, const int K,
                                      __global const float* dy, __global const float* w, __global float* dx) {
    int t = get_global_id(0);
    if (t >= N * C * H * W) return;
    int col = t % W, h = (t / W) % H, c = (t / (H * W)) % C, n = t / (C * H * W), M = K / C;
    float acc = 0.0f;
    for (int k = c * M; k < (c + 1) * M; k++) {
        __global const float* dyk = dy + ((long) n * K + k) * P * Q;
        for (int r = 0; r < R; r++) {
            int ph = h + padH - r;                     // = p·strideH when tap row r of output row p reads h
            if (ph < 0 || ph % strideH != 0 || ph / strideH >= P) continue;
            for (int s = 0; s < S; s++) {
                int qw = col + padW - s;
                if (qw < 0 || qw % strideW != 0 || qw / strideW >= Q) continue;
                acc += dyk[(ph / strideH) * Q + qw / strideW] * w[(k * R + r) * S + s];
            }
        }
    }
    dx[t] = acc;
}

__kernel void depthwise_backward_weight(CONV_ARGS, const int N, const int K,
                                        __global const float* x, __global const float* dy, __global float* dw) {
    __local float sm[RED_WG];
    int g = get_group_id(0);                           // one weight: k, r, s
    int s = g % S, r = (g / S) % R, k = g / (R * S), c = k / (K / C);
    float acc = 0.0f;
    for (int i = get_local_id(0); i < N * P * Q; i += RED_WG) {
        int q = i % Q, p = (i / Q) % P, n = i / (P * Q);
        int h = p * strideH - padH + r, col = q * strideW - padW + s;
        if (h >= 0 && h < H && col >= 0 && col < W)
            acc += dy[((long) n * K + k) * P * Q + p * Q + q] * x[(((long) n * C + c) * H + h) * W + col];
    }
    float total = group_sum(sm, acc);
    if (get_local_id(0) == 0) dw[g] = total;
}
