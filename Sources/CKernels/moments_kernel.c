// One-pass weighted moments for the local-linear fit (see include/moments_kernel.h).
#include "moments_kernel.h"
#include "dispatch.h"

// For m <= 128 the neighbours go through in blocks of 64: each block is transposed into columns
// V[a][.] (and W V[a][.], weighted), and every entry a >= b of the square adds the dot product
// of two contiguous columns, four vector accumulators wide. One pass over u and y, vector FMAs
// only, and no load of a vector just built from scalar stores (which stalls on store
// forwarding: an earlier row-by-row version spent 45 cycles per neighbour at m = 5).
#define MOMENT_BLOCK 64
#define MOMENT_MAX_M 128
typedef double v4d __attribute__((ext_vector_type(4), aligned(8)));
// A macro, not a function: a v4d may not cross a call in the baseline clone (ABI).
#define load4(p) (*(const v4d *)(p))

ALWAYS_INLINE void moments_blocked(const double *restrict u, int64_t p, const double *restrict y,
                                   int64_t q, const double *restrict w, int64_t k,
                                   double *restrict out) {
    const int64_t m = 1 + p + q;
    double V[MOMENT_MAX_M][MOMENT_BLOCK], WV[MOMENT_MAX_M][MOMENT_BLOCK];
    for (int64_t i = 0; i < m * m; i++) out[i] = 0;
    for (int64_t j0 = 0; j0 < k; j0 += MOMENT_BLOCK) {
        const int64_t n = k - j0 < MOMENT_BLOCK ? k - j0 : MOMENT_BLOCK;
        for (int64_t jj = 0; jj < MOMENT_BLOCK; jj++) {
            const int in = jj < n;  // past the end: zero weight, zero values
            const double *uj = u + (j0 + jj) * p, *yj = y + (j0 + jj) * q;
            V[0][jj] = in;
            for (int64_t i = 0; i < p; i++) V[1 + i][jj] = in ? uj[i] : 0;
            for (int64_t o = 0; o < q; o++) V[1 + p + o][jj] = in ? yj[o] : 0;
            const double wj = in ? w[j0 + jj] : 0;
            for (int64_t a = 0; a < m; a++) WV[a][jj] = wj * V[a][jj];
        }
        for (int64_t a = 0; a < m; a++) {
            for (int64_t b = 0; b <= a; b++) {
                v4d s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int jj = 0; jj < MOMENT_BLOCK; jj += 16) {
                    s0 += load4(WV[a] + jj) * load4(V[b] + jj);
                    s1 += load4(WV[a] + jj + 4) * load4(V[b] + jj + 4);
                    s2 += load4(WV[a] + jj + 8) * load4(V[b] + jj + 8);
                    s3 += load4(WV[a] + jj + 12) * load4(V[b] + jj + 12);
                }
                const v4d t = (s0 + s1) + (s2 + s3);
                out[a * m + b] += (t.x + t.y) + (t.z + t.w);
            }
        }
    }
    for (int64_t a = 0; a < m; a++)
        for (int64_t b = a + 1; b < m; b++) out[a * m + b] = out[b * m + a];
}

ALWAYS_INLINE void sdeflow_weighted_moments_body(const double *restrict u, int64_t p,
                                                 const double *restrict y, int64_t q,
                                                 const double *restrict w, int64_t k,
                                                 double *restrict out) {
    const int64_t m = 1 + p + q;
    if (m <= MOMENT_MAX_M) { moments_blocked(u, p, y, q, w, k, out); return; }
    // Wider fits (d of tens): the square lives in `out`; one row update per (j, a) still streams
    // contiguous memory.
    for (int64_t i = 0; i < m * m; i++) out[i] = 0;
    for (int64_t j = 0; j < k; j++) {
        const double *uj = u + j * p, *yj = y + j * q;
        for (int64_t a = 0; a < m; a++) {
            const double va = a == 0 ? 1 : a <= p ? uj[a - 1] : yj[a - 1 - p];
            const double wa = w[j] * va;
            double *row = out + a * m;
            row[0] += wa;
            for (int64_t i = 0; i < p; i++) row[1 + i] += wa * uj[i];
            for (int64_t o = 0; o < q; o++) row[1 + p + o] += wa * yj[o];
        }
    }
}
DISPATCH(void, sdeflow_weighted_moments,
         (const double *restrict u, int64_t p, const double *restrict y, int64_t q,
          const double *restrict w, int64_t k, double *restrict out),
         (u, p, y, q, w, k, out))

ALWAYS_INLINE void sdeflow_local_shift_body(const double *restrict u, int64_t p, double *restrict y,
                                            int64_t q, const double *restrict w, int64_t k,
                                            const double *restrict slopes,
                                            const double *restrict intercept, double *restrict sums) {
    for (int64_t a = 0; a <= p; a++) sums[a] = 0;
    for (int64_t j = 0; j < k; j++) {
        const double *uj = u + j * p;
        double *yj = y + j * q;
        double s = 0;
        for (int64_t o = 0; o < q; o++) {
            double shift = 0;
            for (int64_t i = 0; i < p; i++) shift += uj[i] * slopes[i * q + o];
            yj[o] -= shift;
            const double r = yj[o] - intercept[o];
            s += r * r;
        }
        const double ws = w[j] * s;
        sums[0] += ws;
        for (int64_t a = 0; a < p; a++) sums[1 + a] += ws * uj[a];
    }
}
DISPATCH(void, sdeflow_local_shift,
         (const double *restrict u, int64_t p, double *restrict y, int64_t q,
          const double *restrict w, int64_t k, const double *restrict slopes,
          const double *restrict intercept, double *restrict sums),
         (u, p, y, q, w, k, slopes, intercept, sums))

ALWAYS_INLINE void sdeflow_local_rescale_body(const double *restrict u, int64_t p,
                                              double *restrict y, int64_t q, int64_t k,
                                              const double *restrict g, double s0,
                                              const double *restrict intercept, double inflate) {
    for (int64_t j = 0; j < k; j++) {
        const double *uj = u + j * p;
        double s = s0;
        for (int64_t i = 0; i < p; i++) s += uj[i] * g[i];
        double ratio = s > 0 ? s0 / s : 4;
        ratio = ratio < 0.25 ? 0.25 : ratio > 4 ? 4 : ratio;
        const double f = inflate * __builtin_sqrt(ratio);
        double *yj = y + j * q;
        for (int64_t o = 0; o < q; o++) yj[o] = intercept[o] + (yj[o] - intercept[o]) * f;
    }
}
DISPATCH(void, sdeflow_local_rescale,
         (const double *restrict u, int64_t p, double *restrict y, int64_t q, int64_t k,
          const double *restrict g, double s0, const double *restrict intercept, double inflate),
         (u, p, y, q, k, g, s0, intercept, inflate))

ALWAYS_INLINE void sdeflow_local_rescale_components_body(const double *restrict u, int64_t p,
                                                         double *restrict y, int64_t q, int64_t k,
                                                         const double *restrict g, const double *restrict s0,
                                                         const double *restrict intercept, double inflate) {
    for (int64_t j = 0; j < k; j++) {
        const double *uj = u + j * p;
        double *yj = y + j * q;
        for (int64_t o = 0; o < q; o++) {
            double s = s0[o];
            for (int64_t i = 0; i < p; i++) s += uj[i] * g[i * q + o];
            double ratio = s > 0 ? s0[o] / s : 4;
            ratio = ratio < 0.25 ? 0.25 : ratio > 4 ? 4 : ratio;
            const double f = inflate * __builtin_sqrt(ratio);
            yj[o] = intercept[o] + (yj[o] - intercept[o]) * f;
        }
    }
}
DISPATCH(void, sdeflow_local_rescale_components,
         (const double *restrict u, int64_t p, double *restrict y, int64_t q, int64_t k,
          const double *restrict g, const double *restrict s0, const double *restrict intercept, double inflate),
         (u, p, y, q, k, g, s0, intercept, inflate))

ALWAYS_INLINE double sdeflow_leverage_body(const double *restrict u, int64_t p, const double *restrict w,
                                           int64_t k, const double *restrict mean,
                                           const double *restrict keep, const double *restrict chol,
                                           double *restrict v) {
    double total = 0;
    for (int64_t j = 0; j < k; j++) {
        const double *uj = u + j * p;
        double q = 0;
        for (int64_t a = 0; a < p; a++) {  // L v = keep (u_j - mean), forward substitution
            double s = keep[a] * (uj[a] - mean[a]);
            const double *row = chol + a * p;
            for (int64_t b = 0; b < a; b++) s -= row[b] * v[b];
            v[a] = s / row[a];
            q += v[a] * v[a];
        }
        total += w[j] * w[j] * q;
    }
    return total;
}
DISPATCH(double, sdeflow_leverage,
         (const double *restrict u, int64_t p, const double *restrict w, int64_t k,
          const double *restrict mean, const double *restrict keep, const double *restrict chol,
          double *restrict v),
         (u, p, w, k, mean, keep, chol, v))
