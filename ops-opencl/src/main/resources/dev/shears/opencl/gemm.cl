// GEMM, row-major, in the order of CNugteren's myGEMM tutorial: a naive kernel (the reference, and the
// fall-back on devices whose work-groups are too small) and a tiled, register-blocked one.
//
// The specification, with op(A) M×K and op(B) K×N:
//
//   for (int i = 0; i < M; i++)
//     for (int j = 0; j < N; j++) {
//       float acc = 0;
//       for (int p = 0; p < K; p++) acc += opA(i, p) * opB(p, j);
//       C[i*N + j] = alpha * acc + (beta == 0 ? 0 : beta * C[i*N + j]);   // beta = 0 ignores C, even NaN
//     }
//
//   opA(i, p) = transA ? A[p*M + i] : A[i*K + p]      (A stored K×M when transposed)
//   opB(p, j) = transB ? B[j*K + p] : B[p*N + j]      (B stored N×K when transposed)
//
// aOff, bOff, cOff are element offsets into the buffers (OpenCL has no pointer arithmetic across calls).

#define OP_A(i, p) (transA ? A[aOff + (p) * M + (i)] : A[aOff + (i) * K + (p)])
#define OP_B(p, j) (transB ? B[bOff + (j) * K + (p)] : B[bOff + (p) * N + (j)])

// One work-item per element of C.
__kernel void gemm_naive(const int transA, const int transB, const int M, const int N, const int K, const float alpha,
                         __global const float* A, const int aOff, __global const float* B, const int bOff,
                         const float beta, __global float* C, const int cOff) {
    int j = get_global_id(0), i = get_global_id(1);
    if (i >= M || j >= N) return;
    float acc = 0.0f;
    for (int p = 0; p < K; p++) acc += OP_A(i, p) * OP_B(p, j);
    int ci = cOff + i * N + j;
    C[ci] = beta == 0.0f ? alpha * acc : alpha * acc + beta * C[ci];
}

// ---- tiled + register-blocked (myGEMM's kernel 6, without its vector loads) ----
//
// A work-group computes a TSM×TSN tile of C; each of its RTSM×RTSN work-items computes WPTM×WPTN values,
// at rows ly + RTSM·wm and columns lx + RTSN·wn (strided, so neighbouring work-items touch neighbouring
// columns: coalesced stores and bank-conflict-free local reads). K advances in steps of TSK; each step
// loads one TSM×TSK tile of op(A) and one TSK×TSN tile of op(B) into local memory, zero-padded outside
// the matrices, so M, N and K need not be multiples of any tile size.
//
// Tile sizes and their constraints (checked by the host, which launches RTSN×RTSM work-groups):
//   TSM = RTSM·WPTM, TSN = RTSN·WPTN          (the work-items cover the tile exactly)
//   (TSM·TSK) % (RTSM·RTSN) == 0, and likewise (TSK·TSN): every work-item loads the same number of values
//   RTSM·RTSN ≤ the device's max work-group size (256 here)
#define TSM 64
#define TSN 64
#define TSK 16
#define WPTM 4
#define WPTN 4
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)
#define WG_SIZE (RTSM * RTSN)
#define LPTA ((TSK * TSM) / WG_SIZE)   // loads per work-item per tile of A
#define LPTB ((TSK * TSN) / WG_SIZE)

__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm_tiled(const int transA, const int transB, const int M, const int N, const int K, const float alpha,
                __global const float* A, const int aOff, __global const float* B, const int bOff,
                const float beta, __global float* C, const int cOff) {
    const int lx = get_local_id(0), ly = get_local_id(1);
    const int tid = ly * RTSN + lx;
    const int m0 = get_group_id(1) * TSM, n0 = get_group_id(0) * TSN;

    __local float Asub[TSK][TSM];   // Asub[p][i] = opA(m0 + i, k0 + p)
    __local float Bsub[TSK][TSN];   // Bsub[p][j] = opB(k0 + p, n0 + j)

    float acc[WPTM][WPTN];
    for (int wm = 0; wm < WPTM; wm++)
        for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += TSK) {
        for (int l = 0; l < LPTA; l++) {
            int idx = tid + l * WG_SIZE;
            // walk along the stored rows so that consecutive work-items read consecutive addresses
            int i = transA ? idx % TSM : idx / TSK;
            int p = transA ? idx / TSM : idx % TSK;
            int gi = m0 + i, gp = k0 + p;
            Asub[p][i] = (gi < M && gp < K) ? OP_A(gi, gp) : 0.0f;
        }
        for (int l = 0; l < LPTB; l++) {
            int idx = tid + l * WG_SIZE;
            int j = transB ? idx / TSK : idx % TSN;
            int p = transB ? idx % TSK : idx / TSN;
            int gj = n0 + j, gp = k0 + p;
            Bsub[p][j] = (gj < N && gp < K) ? OP_B(gp, gj) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        for (int p = 0; p < TSK; p++) {
            float breg[WPTN];
            for (int wn = 0; wn < WPTN; wn++) breg[wn] = Bsub[p][lx + wn * RTSN];
            for (int wm = 0; wm < WPTM; wm++) {
                float areg = Asub[p][ly + wm * RTSM];
                for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] += areg * breg[wn];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int wm = 0; wm < WPTM; wm++) {
        int i = m0 + ly + wm * RTSM;
        if (i >= M) continue;
        for (int wn = 0; wn < WPTN; wn++) {
            int j = n0 + lx + wn * RTSN;
            if (j >= N) continue;
            int ci = cOff + i * N + j;
            C[ci] = beta == 0.0f ? alpha * acc[wm][wn] : alpha * acc[wm][wn] + beta * C[ci];
        }
    }
}
