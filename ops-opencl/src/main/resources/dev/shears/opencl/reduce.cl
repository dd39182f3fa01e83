// Reductions with one work-group per output value. RED_WG (a power of two, set by the host as a build option
// from the device's limits) is the work-group size; every work-item strides over the values of its group's
// output, then a tree in local memory adds the RED_WG partial sums. No atomics, so the result is deterministic.

#ifndef RED_WG
#define RED_WG 256
#endif

// The sum of v over the work-group, returned to every work-item. s is __local float[RED_WG].
// Helpers are plain functions, not `inline`: C99 inline semantics emit no out-of-line definition, and a
// compiler that chooses not to inline then fails to link.
float group_sum(__local float* s, float v) {
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
// A long reduction is split over G work-groups per output (a GPU has far more cores than a bias has values):
// group o·G + g sums reduced indices [g·chunk, (g+1)·chunk) into partial[o·G + g]; sum_partials adds the G
// partial sums in order. With G = 1 the host passes out as partial and skips the second kernel.
// nk and nr are the numbers of kept and reduced dimensions: the index loops skip the padding.
__kernel void sum_to(const int reduced, const int chunk, const int G, const int nk, const int nr,
                     const int8 keptShape8, const int8 keptStride8,
                     const int8 redShape8, const int8 redStride8, __global const float* x, __global float* partial) {
    __local float s[RED_WG];
    int ks[8], kst[8], rs[8], rst[8];
    vstore8(keptShape8, 0, ks);
    vstore8(keptStride8, 0, kst);
    vstore8(redShape8, 0, rs);
    vstore8(redStride8, 0, rst);
    int o = get_group_id(0) / G, g = get_group_id(0) % G;
    int base = 0, rem = o;
    for (int d = 7; d >= 8 - nk; d--) { base += (rem % ks[d]) * kst[d]; rem /= ks[d]; }
    int hi = min(reduced, (g + 1) * chunk);
    float acc = 0.0f;
    for (int r = g * chunk + get_local_id(0); r < hi; r += RED_WG) {
        int off = 0, rr = r;
        for (int d = 7; d >= 8 - nr; d--) { off += (rr % rs[d]) * rst[d]; rr /= rs[d]; }
        acc += x[base + off];
    }
    float total = group_sum(s, acc);
    if (get_local_id(0) == 0) partial[get_group_id(0)] = total;
}

__kernel void sum_partials(const int outputs, const int G, __global const float* partial, __global float* out) {
    int o = get_global_id(0);
    if (o >= outputs) return;
    float acc = 0.0f;
    for (int g = 0; g < G; g++) acc += partial[o * G + g];
    out[o] = acc;
}
