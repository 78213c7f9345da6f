// One-pass weighted moments for the local-linear fit (see include/moments_kernel.h).
#include "moments_kernel.h"
#include "dispatch.h"

// Accumulates into a fixed M x M square (v zero-padded past m), so the inner loops have a
// compile-time length the compiler turns into vector FMAs; M = 8 covers d = 2 with the cross
// terms (1 + 5 + 2), M = 16 covers up to m = 16.
#define FIXED_MOMENTS(M)                                                                    \
    ALWAYS_INLINE void moments_##M(const double *restrict u, int64_t p, const double *restrict y, \
                                   int64_t q, const double *restrict w, int64_t k,          \
                                   double *restrict out) {                                  \
        double acc[M][M] = {{0}};                                                           \
        double v[M] = {0};                                                                  \
        const int64_t m = 1 + p + q;                                                        \
        for (int64_t j = 0; j < k; j++) {                                                   \
            v[0] = 1;                                                                       \
            for (int64_t i = 0; i < p; i++) v[1 + i] = u[j * p + i];                        \
            for (int64_t o = 0; o < q; o++) v[1 + p + o] = y[j * q + o];                    \
            const double wj = w[j];                                                         \
            for (int a = 0; a < M; a++) {                                                   \
                const double wa = wj * v[a];                                                \
                for (int b = 0; b < M; b++) acc[a][b] += wa * v[b];                         \
            }                                                                               \
        }                                                                                   \
        for (int64_t a = 0; a < m; a++)                                                     \
            for (int64_t b = 0; b < m; b++) out[a * m + b] = acc[a][b];                     \
    }
FIXED_MOMENTS(8)
FIXED_MOMENTS(16)

ALWAYS_INLINE void sdeflow_weighted_moments_body(const double *restrict u, int64_t p,
                                                 const double *restrict y, int64_t q,
                                                 const double *restrict w, int64_t k,
                                                 double *restrict out) {
    const int64_t m = 1 + p + q;
    if (m <= 8) { moments_8(u, p, y, q, w, k, out); return; }
    if (m <= 16) { moments_16(u, p, y, q, w, k, out); return; }
    // Wide fits (d of tens): the square lives in `out`; one row update per (j, a) still streams
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
                                              const double *restrict intercept) {
    for (int64_t j = 0; j < k; j++) {
        const double *uj = u + j * p;
        double s = s0;
        for (int64_t i = 0; i < p; i++) s += uj[i] * g[i];
        double ratio = s > 0 ? s0 / s : 4;
        ratio = ratio < 0.25 ? 0.25 : ratio > 4 ? 4 : ratio;
        const double f = __builtin_sqrt(ratio);
        double *yj = y + j * q;
        for (int64_t o = 0; o < q; o++) yj[o] = intercept[o] + (yj[o] - intercept[o]) * f;
    }
}
DISPATCH(void, sdeflow_local_rescale,
         (const double *restrict u, int64_t p, double *restrict y, int64_t q, int64_t k,
          const double *restrict g, double s0, const double *restrict intercept),
         (u, p, y, q, k, g, s0, intercept))
