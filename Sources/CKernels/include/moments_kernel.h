#pragma once
#include <stdint.h>

/// Weighted raw second moments of v_j = (1, u_j, y_j) over j < k, in one pass:
/// out[a*m + b] = sum_j w[j] v_j[a] v_j[b] for the full m x m square, m = 1 + p + q.
/// u is k x p and y is k x q, row-major doubles; w has k weights. Row 0 holds the weight total
/// and the weighted sums of u and y; the rest are the raw cross products the local-linear fit
/// centres itself. One pass instead of one per pair of columns: with K = 80 000 neighbours and
/// m = 8, the separate strided passes of the fit were a quarter of a label's time.
void sdeflow_weighted_moments(const double *u, int64_t p, const double *y, int64_t q,
                              const double *w, int64_t k, double *out);

/// Mean step of the local fit, in place: y_j -= u_j B (B = slopes, p x q row-major), then with
/// s_j = |y_j - c|^2 (c = intercept, q values) the weighted sums the scale fit needs:
/// sums[0] = sum_j w_j s_j and sums[1 + a] = sum_j w_j s_j u_j[a] (a < p).
void sdeflow_local_shift(const double *u, int64_t p, double *y, int64_t q, const double *w,
                         int64_t k, const double *slopes, const double *intercept, double *sums);

/// Scale step of the local fit, in place: y_j = c + (y_j - c) f sqrt(r_j), with
/// r_j = s0 / (s0 + u_j g) clamped to [1/4, 4] (4 where s0 + u_j g <= 0); g has p values,
/// f = `inflate` (the leverage correction, see `sdeflow_leverage`).
void sdeflow_local_rescale(const double *u, int64_t p, double *y, int64_t q, int64_t k,
                           const double *g, double s0, const double *intercept, double inflate);

/// The scale step per component (the quadratic scale model of `LocalLinearFit`): as
/// `sdeflow_local_rescale` with component o of y_j scaled by its own r_jo = s0[o] / (s0[o] +
/// u_j g_o), g being p x q row-major (column o is component o's coefficients). At q = 1 it is
/// `sdeflow_local_rescale`, operation for operation.
void sdeflow_local_rescale_components(const double *u, int64_t p, double *y, int64_t q, int64_t k,
                                      const double *g, const double *s0, const double *intercept,
                                      double inflate);

/// The weighted leverage of the fit's offsets: sum_j w_j^2 |L^{-1} (keep * (u_j - mean))|^2,
/// with L (p x p, row-major lower triangle) the Cholesky factor of the centred weighted Gram
/// matrix sum_j w_j (u_j - mean)(u_j - mean)^T and keep[a] 0 for columns left out of the fit
/// (1 otherwise). u is k x p, w has k weights, scratch has p values.
double sdeflow_leverage(const double *u, int64_t p, const double *w, int64_t k,
                        const double *mean, const double *keep, const double *chol, double *scratch);
