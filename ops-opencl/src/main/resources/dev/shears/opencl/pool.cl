// Max-pooling, x [N,C,H,W] → y [N,C,P,Q] with an R×S window (legend as in Pool2dShape). A plane is one (n, c).
// Forward records, per output, the flat index h·W + w of the winner within its input plane.

__kernel void maxpool_forward(const int planes, const int H, const int W, const int P, const int Q, const int R, const int S,
                              const int strideH, const int strideW, const int padH, const int padW,
                              __global const float* x, __global float* y, __global int* argmax) {
    int o = get_global_id(0);
    if (o >= planes * P * Q) return;
    int j = o % Q, i = (o / Q) % P, plane = o / (P * Q);
    __global const float* xp = x + (long) plane * H * W;
    float best = -INFINITY;
    int bestAt = -1;
    for (int r = 0; r < R; r++) {
        int h = i * strideH - padH + r;
        if (h < 0 || h >= H) continue;
        for (int s = 0; s < S; s++) {
            int w = j * strideW - padW + s;
            if (w < 0 || w >= W) continue;
            float v = xp[h * W + w];
            // strict '>' keeps the first maximum (PyTorch's CPU code); a NaN wins so that it propagates
            if (v > best || bestAt < 0 || isnan(v)) { best = v; bestAt = h * W + w; }
        }
    }
    y[o] = best;
    argmax[o] = bestAt;
}

// dx gathers, for each input element, the dy of every output window whose recorded winner it is. A gather
// instead of a scatter: overlapping windows add up without atomics, in the reference's order.
__kernel void maxpool_backward(const int planes, const int H, const int W, const int P, const int Q, const int R, const int S,
                               const int strideH, const int strideW, const int padH, const int padW,
                               __global const float* dy, __global const int* argmax, __global float* dx) {
    int t = get_global_id(0);
    if (t >= planes * H * W) return;
    int w = t % W, h = (t / W) % H, plane = t / (H * W);
    int at = h * W + w;
    // outputs i whose window rows i·strideH−padH .. +R−1 contain h
    int iLo = max(0, (h + padH - R + strideH) / strideH), iHi = min(P - 1, (h + padH) / strideH);
    int jLo = max(0, (w + padW - S + strideW) / strideW), jHi = min(Q - 1, (w + padW) / strideW);
    float acc = 0.0f;
    for (int i = iLo; i <= iHi; i++)
        for (int j = jLo; j <= jHi; j++) {
            int o = (plane * P + i) * Q + j;
            if (argmax[o] == at) acc += dy[o];
        }
    dx[t] = acc;
}

// Average pooling: y = the window's in-bounds sum / divisor, divisor R·S with countIncludePad (padding counts as
// zeros), else the in-bounds count. The window clipped to the input is rows [h0, h1) × columns [w0, w1).
__kernel void avgpool_forward(const int planes, const int H, const int W, const int P, const int Q, const int R, const int S,
                              const int strideH, const int strideW, const int padH, const int padW, const int countIncludePad,
                              __global const float* x, __global float* y) {
    int o = get_global_id(0);
    if (o >= planes * P * Q) return;
    int j = o % Q, i = (o / Q) % P, plane = o / (P * Q);
    __global const float* xp = x + (long) plane * H * W;
    int h0 = max(i * strideH - padH, 0), h1 = min(i * strideH - padH + R, H);
    int w0 = max(j * strideW - padW, 0), w1 = min(j * strideW - padW + S, W);
    float sum = 0.0f;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) sum += xp[h * W + w];
    y[o] = sum / (float) (countIncludePad ? R * S : (h1 - h0) * (w1 - w0));
}

// dx gathers dy / divisor from every output window that contains it (no atomics, as in maxpool_backward).
__kernel void avgpool_backward(const int planes, const int H, const int W, const int P, const int Q, const int R, const int S,
                               const int strideH, const int strideW, const int padH, const int padW, const int countIncludePad,
                               __global const float* dy, __global float* dx) {
    int t = get_global_id(0);
    if (t >= planes * H * W) return;
    int w = t % W, h = (t / W) % H, plane = t / (H * W);
    int iLo = max(0, (h + padH - R + strideH) / strideH), iHi = min(P - 1, (h + padH) / strideH);
    int jLo = max(0, (w + padW - S + strideW) / strideW), jHi = min(Q - 1, (w + padW) / strideW);
    float acc = 0.0f;
    for (int i = iLo; i <= iHi; i++) {
        int rows = min(i * strideH - padH + R, H) - max(i * strideH - padH, 0);
        for (int j = jLo; j <= jHi; j++) {
            int cols = min(j * strideW - padW + S, W) - max(j * strideW - padW, 0);
            acc += dy[(plane * P + i) * Q + j] / (float) (countIncludePad ? R * S : rows * cols);
        }
    }
    dx[t] = acc;
}
