// Reductions with one work-group per output value. RED_WG (a power of two, set by the host as a build option
// from the device's limits) is the work-group size; every work-item strides over the values of its group's
// output, then a tree in local memory adds the RED_WG partial sums. No atomics, so the result is deterministic.

#ifndef RED_WG
#define RED_WG 256
#endif

// The sum of v over the work-group, returned to every work-item. s is __local float[RED_WG].
inline float group_sum(__local float* s, float v) {
    int lid = get_local_id(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = RED_WG / 2; off > 0; off >>= 1) {
        if (lid < off) s[lid] += s[lid + off];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);   // s may be reused at once by the caller
    return r;
}

// sumTo: out[o] = Σ over the reduced dimensions of x. The host splits x's dimensions into kept ones (those
// out keeps; they enumerate o in row-major order) and reduced ones, each with x's strides, padded to rank 8.
__kernel void sum_to(const int reduced, const int8 keptShape8, const int8 keptStride8,
                     const int8 redShape8, const int8 redStride8, __global const float* x, __global float* out) {
    __local float s[RED_WG];
    int ks[8], kst[8], rs[8], rst[8];
    vstore8(keptShape8, 0, ks);
    vstore8(keptStride8, 0, kst);
    vstore8(redShape8, 0, rs);
    vstore8(redStride8, 0, rst);
    int o = get_group_id(0);
    int base = 0, rem = o;
    for (int d = 7; d >= 0; d--) { base += (rem % ks[d]) * kst[d]; rem /= ks[d]; }
    float acc = 0.0f;
    for (int r = get_local_id(0); r < reduced; r += RED_WG) {
        int off = 0, rr = r;
        for (int d = 7; d >= 0; d--) { off += (rr % rs[d]) * rst[d]; rr /= rs[d]; }
        acc += x[base + off];
    }
    float total = group_sum(s, acc);
    if (get_local_id(0) == 0) out[o] = total;
}
