#include "label_kernel.h"
#include <math.h>

#include "dispatch.h"

const char *sdeflow_kernel_isa(void) {
    static const char *names[] = {"baseline", "avx2+fma", "avx512"};
    return names[isa_level()];
}

// 16 float lanes as one value: one zmm register with AVX-512, two ymm with AVX2, four xmm on the
// baseline. Explicit lanes are what makes the float sums vectorise (no reassociation needed).
typedef float v16 __attribute__((ext_vector_type(16), aligned(4)));
typedef int32_t v16i __attribute__((ext_vector_type(16), aligned(4)));
#define LANES 16

// Macros, not functions: a v16 may not cross a call in the AVX2 and baseline clones (ABI).
#define splat(x) ((v16)(float)(x))
#define load(p) (*(const v16 *)(p))
#define store(p, v) (*(v16 *)(p) = (v))
#define SUM_LANES(out, v)                                   \
    do {                                                    \
        v16 v_ = (v);                                       \
        float s_ = 0.0f;                                    \
        for (int l_ = 0; l_ < LANES; l_++) s_ += v_[l_];    \
        (out) = s_;                                         \
    } while (0)

// out = exp(x) for x <= 0: 2^n * e^r with |r| <= ln2/2 and e^r = 1 + r + r^2 P(r) (Cephes
// coefficients, relative error ~2 ulp); exactly 0 below -87 (and for -inf or NaN inputs of the
// padding). P is evaluated by Estrin's scheme: a short dependency chain matters more than the
// instruction count here. Inline and branch-free: libm's expf is never vectorised.
#define EXP_NONPOSITIVE(out, x_in)                                                  \
    do {                                                                            \
        const v16 x_ = (x_in);                                                      \
        /* round to nearest by the 1.5*2^23 shift (vectorises, unlike roundf) */    \
        v16 n_ = (x_ * 1.44269504088896341f + 12582912.0f) - 12582912.0f;           \
        v16 r_ = x_ - n_ * 0.693359375f;                                            \
        r_ = r_ + n_ * 2.12194440e-4f;                                              \
        v16 r2_ = r_ * r_;                                                          \
        v16 a_ = r_ * 1.6666665459e-1f + 5.0000001201e-1f;                          \
        v16 b_ = r_ * 8.3334519073e-3f + 4.1665795894e-2f;                          \
        v16 c_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;                          \
        v16 p_ = (c_ * r2_ + b_) * r2_ + a_;                                        \
        v16 e_ = (p_ * r2_ + r_) + 1.0f;                                            \
        v16i bits_ = (__builtin_convertvector(n_, v16i) + 127) << 23;               \
        e_ = e_ * (v16)bits_;                                                       \
        v16i keep_ = x_ >= splat(-87.0f); /* all ones where x >= -87, else 0 */    \
        (out) = (v16)((v16i)e_ & keep_);                                            \
    } while (0)

// Softmax over neighbours of the log-weights at one (z, tau), and the weighted mean of delta
// (docs/METHOD.md §2): the only part of the score that depends on the data. `mean` gets
// sum_j w_j delta_j / sum_j w_j; returns the effective sample size (sum w)^2 / sum w^2.
ALWAYS_INLINE float softmax_mean(int32_t d, int32_t k_pad, const float *restrict delta_t,
                                 const float *restrict norm2, const float *restrict kern,
                                 const float *restrict z, float a_b2, float half_a2_b2,
                                 float *restrict logw, float *restrict mean) {
    // Log-weights without the j-independent |z|^2 term, and their maximum (fused into the
    // pass over the last component).
    v16 mx = splat(-INFINITY);
    const float coef0 = a_b2 * z[0];
    for (int32_t j = 0; j < k_pad; j += LANES) {
        v16 v = load(kern + j) - half_a2_b2 * load(norm2 + j) + coef0 * load(delta_t + j);
        store(logw + j, v);
        mx = __builtin_elementwise_max(mx, v);
    }
    if (d > 1) {
        mx = splat(-INFINITY);
        for (int32_t c = 1; c < d; c++) {
            const float coef = a_b2 * z[c];
            const float *dc = delta_t + (int64_t)c * k_pad;
            for (int32_t j = 0; j < k_pad; j += LANES) {
                v16 v = load(logw + j) + coef * load(dc + j);
                store(logw + j, v);
                if (c == d - 1) mx = __builtin_elementwise_max(mx, v);
            }
        }
    }
    float m = mx[0];
    for (int l = 1; l < LANES; l++) m = mx[l] > m ? mx[l] : m;

    // Weights, their sum and sum of squares, and the weighted sum of delta: in the same pass
    // for d = 1 (the weights are never stored), in one pass per component otherwise.
    v16 sw = splat(0.0f), sw2 = splat(0.0f), acc0 = splat(0.0f);
    for (int32_t j = 0; j < k_pad; j += LANES) {
        v16 w;
        EXP_NONPOSITIVE(w, load(logw + j) - m);
        if (d == 1) acc0 += w * load(delta_t + j); else store(logw + j, w);
        sw += w;
        sw2 += w * w;
    }
    float total, total2;
    SUM_LANES(total, sw);
    SUM_LANES(total2, sw2);
    if (d == 1) {
        float a;
        SUM_LANES(a, acc0);
        mean[0] = a / total;
    }
    for (int32_t c = 0; c < d && d > 1; c++) {
        const float *dc = delta_t + (int64_t)c * k_pad;
        v16 acc = splat(0.0f);
        for (int32_t j = 0; j < k_pad; j += LANES) acc += load(logw + j) * load(dc + j);
        float a;
        SUM_LANES(a, acc);
        mean[c] = a / total;
    }
    return total * total / total2;
}

ALWAYS_INLINE int sdeflow_kernel_score_impl_body(int32_t d, int32_t k_pad, const float *restrict delta_t,
                          const float *restrict norm2, const float *restrict kern,
                          const float *restrict z, float alpha, float beta2,
                          float *restrict scratch, float *restrict score) {
    float mean[SDEFLOW_MAX_DIM];
    softmax_mean(d, k_pad, delta_t, norm2, kern, z, alpha / beta2, 0.5f * alpha * alpha / beta2,
                 scratch, mean);
    for (int32_t c = 0; c < d; c++) score[c] = -(z[c] - alpha * mean[c]) / beta2;
    return 0;
}
DISPATCH(int, sdeflow_kernel_score_impl,
         (int32_t d, int32_t k_pad, const float *restrict delta_t, const float *restrict norm2,
          const float *restrict kern, const float *restrict z, float alpha, float beta2,
          float *restrict scratch, float *restrict score),
         (d, k_pad, delta_t, norm2, kern, z, alpha, beta2, scratch, score))
void sdeflow_kernel_score(int32_t d, int32_t k_pad, const float *delta_t, const float *norm2,
                          const float *kern, const float *z, float alpha, float beta2,
                          float *scratch, float *score) {
    sdeflow_kernel_score_impl(d, k_pad, delta_t, norm2, kern, z, alpha, beta2, scratch, score);
}

ALWAYS_INLINE float sdeflow_label_ode_body(int32_t d, int32_t k_pad, const float *restrict delta_t,
                        const float *restrict norm2, const float *restrict kern,
                        float *restrict z, int32_t steps, float *restrict scratch) {
    const float h = 1.0f / (float)steps;
    float mean[SDEFLOW_MAX_DIM];
    float ess = 0.0f;
    for (int32_t s = 0; s < steps; s++) {
        // Lower end t of this step; coefficients at the shifted values of docs/METHOD.md §2,
        // f = d log(alpha)/dtau and g2 = d(beta2)/dtau - 2 f beta2 at those values.
        const float t = 1.0f - (float)(s + 1) * h;
        const float alpha = 1.0f - t + h, beta2 = t + h;
        const float f = -1.0f / alpha, g2 = 1.0f - 2.0f * f * beta2;
        ess = softmax_mean(d, k_pad, delta_t, norm2, kern, z, alpha / beta2,
                           0.5f * alpha * alpha / beta2, scratch, mean);
        // Euler step backwards in tau: z <- z - (f z - g2/2 S) h, S = -(z - alpha mean)/beta2.
        for (int32_t c = 0; c < d; c++) {
            float score = -(z[c] - alpha * mean[c]) / beta2;
            z[c] = z[c] - (f * z[c] - 0.5f * g2 * score) * h;
        }
    }
    return ess;
}

ALWAYS_INLINE float label_ode_grid(int32_t d, int32_t k_pad, const float *restrict delta_t,
                        const float *restrict norm2, const float *restrict kern,
                        float *restrict z, int32_t steps, const float *restrict tau,
                        const float *restrict kappa, int32_t full, float *restrict scratch) {
    // DPM-Solver++(2M) (Lu et al. 2022) in this parameterisation: alpha = 1 - tau, beta = sqrt(tau),
    // lambda = log(alpha / beta). Over a step the ODE is linear in Z given the posterior mean
    // D of the displacement, so Z(lo) = (beta_lo / beta_hi) Z(hi) + (alpha_lo - beta_lo alpha_hi / beta_hi) D
    // exactly; D is the posterior mean m at tau[s] (first order: the first step, from pure noise,
    // and the last, onto tau = 0) or its linear extrapolation from the previous step's mean.
    float mean[SDEFLOW_MAX_DIM], prev[SDEFLOW_MAX_DIM] = {0};  // prev is read (times 0) from step 0
    float ess = 0.0f, h_prev = 0.0f;
    for (int32_t s = 0; s < steps; s++) {
        const float hi = tau[s], lo = tau[s + 1];
        const float alpha = 1.0f - hi, beta2 = hi, beta = sqrtf(hi);
        const float alpha_lo = 1.0f - lo, beta_lo = sqrtf(lo);
        ess = softmax_mean(d, k_pad, delta_t, norm2, kern, z, alpha / beta2,
                           0.5f * alpha * alpha / beta2, scratch, mean);
        // Step in lambda; infinite on the first step (from lambda = -inf) and the last (to +inf),
        // which therefore take the first-order mean, as does the one after the first.
        const float h = (lo > 0.0f ? logf(alpha_lo / beta_lo) : INFINITY) - (s > 0 ? logf(alpha / beta) : -INFINITY);
        const float c2 = s >= 2 && lo > 0.0f ? 0.5f * h / h_prev : 0.0f;  // 1 / (2 r), r = h_prev / h
        const float keep = beta_lo / beta, gain = alpha_lo - keep * alpha;
        for (int32_t c = 0; c < d; c++) {
            const float dd = (1.0f + c2) * mean[c] - c2 * prev[c];
            z[c] = keep * z[c] + gain * dd;
            prev[c] = mean[c];
        }
        h_prev = h;
    }
    const float end = tau[steps];
    if (end > 0.0f) {
        // Stopped at noise sigma = sqrt(end) / (1 - end) above the data: finish with the
        // posterior mean plus kappa times the remaining noise (kappa from the caller; for a
        // Gaussian law of spread s it makes the label variance s^2 exactly, ~1/2 for small sigma).
        const float alpha = 1.0f - end;
        ess = softmax_mean(d, k_pad, delta_t, norm2, kern, z, alpha / end, 0.5f * alpha * alpha / end, scratch, mean);
        if (full) {  // kappa is a d x d matrix (row-major): correlated components
            for (int32_t c = 0; c < d; c++) prev[c] = z[c] / alpha - mean[c];
            for (int32_t c = 0; c < d; c++) {
                float v = mean[c];
                for (int32_t e = 0; e < d; e++) v += kappa[c * d + e] * prev[e];
                z[c] = v;
            }
        } else {
            for (int32_t c = 0; c < d; c++) z[c] = mean[c] + kappa[c] * (z[c] / alpha - mean[c]);
        }
    }
    return ess;
}

ALWAYS_INLINE float sdeflow_label_ode_grid_matrix_body(int32_t d, int32_t k_pad, const float *restrict delta_t,
                        const float *restrict norm2, const float *restrict kern,
                        float *restrict z, int32_t steps, const float *restrict tau,
                        const float *restrict kappa, float *restrict scratch) {
    return label_ode_grid(d, k_pad, delta_t, norm2, kern, z, steps, tau, kappa, 1, scratch);
}

ALWAYS_INLINE float sdeflow_label_ode_grid_body(int32_t d, int32_t k_pad, const float *restrict delta_t,
                        const float *restrict norm2, const float *restrict kern,
                        float *restrict z, int32_t steps, const float *restrict tau,
                        const float *restrict kappa, float *restrict scratch) {
    return label_ode_grid(d, k_pad, delta_t, norm2, kern, z, steps, tau, kappa, 0, scratch);
}

ALWAYS_INLINE float sdeflow_roofline_body(int32_t k_pad, const float *restrict a, const float *restrict b,
                       int32_t repeats) {
    v16 acc = splat(0.0f), acc2 = splat(0.0f);
    float shift = 0.0f;
    for (int32_t r = 0; r < repeats; r++) {
        for (int32_t j = 0; j < k_pad; j += LANES) {
            v16 av = load(a + j);
            v16 w;
            EXP_NONPOSITIVE(w, av * shift - load(b + j));
            acc += w;
            acc2 += w * av;
        }
        shift += 1e-7f;
    }
    float s1, s2;
    SUM_LANES(s1, acc);
    SUM_LANES(s2, acc2);
    return s1 + s2;
}
DISPATCH(float, sdeflow_label_ode,
         (int32_t d, int32_t k_pad, const float *restrict delta_t, const float *restrict norm2,
          const float *restrict kern, float *restrict z, int32_t steps, float *restrict scratch),
         (d, k_pad, delta_t, norm2, kern, z, steps, scratch))
DISPATCH(float, sdeflow_label_ode_grid,
         (int32_t d, int32_t k_pad, const float *restrict delta_t, const float *restrict norm2,
          const float *restrict kern, float *restrict z, int32_t steps, const float *restrict tau,
          const float *restrict kappa, float *restrict scratch),
         (d, k_pad, delta_t, norm2, kern, z, steps, tau, kappa, scratch))
DISPATCH(float, sdeflow_label_ode_grid_matrix,
         (int32_t d, int32_t k_pad, const float *restrict delta_t, const float *restrict norm2,
          const float *restrict kern, float *restrict z, int32_t steps, const float *restrict tau,
          const float *restrict kappa, float *restrict scratch),
         (d, k_pad, delta_t, norm2, kern, z, steps, tau, kappa, scratch))
DISPATCH(float, sdeflow_roofline,
         (int32_t k_pad, const float *restrict a, const float *restrict b, int32_t repeats),
         (k_pad, a, b, repeats))
