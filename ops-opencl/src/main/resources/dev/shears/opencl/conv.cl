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

__kernel void im2col(CONV_ARGS, const int n0, const int nb, __global const float* x, __global float* col) {
    int t = get_global_id(0);
    int PQ = P * Q, cols = nb * PQ;
    if (t >= C * R * S * cols) return;
    int colIdx = t % cols, row = t / cols;
    int s = row % S, r = (row / S) % R, c = row / (R * S);
    int q = colIdx % Q, p = (colIdx / Q) % P, b = colIdx / PQ;
    int h = p * strideH - padH + r, w = q * strideW - padW + s;
    col[t] = (h >= 0 && h < H && w >= 0 && w < W) ? x[(((long) (n0 + b) * C + c) * H + h) * W + w] : 0.0f;
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
