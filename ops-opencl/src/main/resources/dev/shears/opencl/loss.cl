// Fused log-softmax + negative log-likelihood over logits [N, C] (N rows, C classes) and int labels [N].
// One work-group: each work-item takes rows lid, lid+RED_WG, ... and the row losses meet in group_sum,
// so the mean loss never leaves the device. A label outside [0, C) makes the loss NaN (LossOps checks
// labels on the host before they are uploaded, with a message).

__kernel void cross_entropy_forward(const int n, const int c, __global const float* logits, __global const int* labels,
                                    __global float* logProbs, __global float* loss) {
    __local float s[RED_WG];
    float acc = 0.0f;
    for (int i = get_local_id(0); i < n; i += RED_WG) {
        __global const float* row = logits + (long) i * c;
        // subtract the row maximum so exp never overflows (log-sum-exp)
        float mx = -INFINITY;
        for (int j = 0; j < c; j++) mx = fmax(mx, row[j]);
        float sum = 0.0f;
        for (int j = 0; j < c; j++) sum += exp(row[j] - mx);
        float lse = mx + log(sum);
        for (int j = 0; j < c; j++) logProbs[(long) i * c + j] = row[j] - lse;
        int label = labels[i];
        acc += (label >= 0 && label < c) ? -(row[label] - lse) : NAN;
    }
    float total = group_sum(s, acc);
    if (get_local_id(0) == 0) loss[0] = total / n;
}

// dLogits = (softmax − onehot(label)) · dLoss[0] / N
__kernel void cross_entropy_backward(const int n, const int c, __global const float* logProbs, __global const int* labels,
                                     __global const float* dLoss, __global float* dLogits) {
    int t = get_global_id(0);
    if (t >= n * c) return;
    int i = t / c, j = t % c;
    float scale = dLoss[0] / n;
    dLogits[t] = (exp(logProbs[t]) - (j == labels[i] ? 1.0f : 0.0f)) * scale;
}
