#include "label_kernel.h"
#include <math.h>
#include <string.h>

// Picks AVX-512 / AVX2+FMA / baseline code at load time, with no build flag.
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define SDEFLOW_CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#endif
#endif
#ifndef SDEFLOW_CLONES
#define SDEFLOW_CLONES
#endif

#define LANES 16

// exp(x) for x <= 0 (Cephes-style: 2^n * p(r), |r| <= ln2/2), relative error ~2 ulp.
// Inlined and branch-free so the neighbour loops vectorise; libm's expf never does.
static inline float exp_nonpositive(float x) {
    const float lo = -87.0f;
    float xc = x < lo ? lo : x;
    float n = __builtin_roundf(xc * 1.44269504088896341f);
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < lo ? 0.0f : p * scale;
}

// Softmax over neighbours of the log-weights at one (z, tau), and the weighted mean of delta
// (METHOD.md §2): the only part of the score that depends on the data. Returns sum of the
// unnormalised weights w_j = exp(logw_j - max) and their ESS; `mean` gets sum_j w_j delta_j / sum w.
static inline float softmax_mean(int32_t d, int32_t k_pad, const float *restrict delta_t,
                                 const float *restrict norm2, const float *restrict kern,
                                 const float *restrict z, float a_b2, float half_a2_b2,
                                 float *restrict logw, float *restrict mean) {
    // Log-weights without the j-independent |z|^2 term, then their maximum.
    const float coef0 = a_b2 * z[0];
    for (int32_t j = 0; j < k_pad; j++)
        logw[j] = kern[j] - half_a2_b2 * norm2[j] + coef0 * delta_t[j];
    for (int32_t c = 1; c < d; c++) {
        const float coef = a_b2 * z[c];
        const float *dc = delta_t + (int64_t)c * k_pad;
        for (int32_t j = 0; j < k_pad; j++) logw[j] += coef * dc[j];
    }
    float mx[LANES];
    for (int l = 0; l < LANES; l++) mx[l] = -INFINITY;
    for (int32_t j = 0; j < k_pad; j += LANES)
        for (int l = 0; l < LANES; l++) mx[l] = logw[j + l] > mx[l] ? logw[j + l] : mx[l];
    float m = mx[0];
    for (int l = 1; l < LANES; l++) m = mx[l] > m ? mx[l] : m;

    // Weights (16 explicit lanes: a float sum only vectorises with independent accumulators).
    float sw[LANES], sw2[LANES];
    for (int l = 0; l < LANES; l++) { sw[l] = 0.0f; sw2[l] = 0.0f; }
    for (int32_t j = 0; j < k_pad; j += LANES) {
        for (int l = 0; l < LANES; l++) {
            float w = exp_nonpositive(logw[j + l] - m);
            logw[j + l] = w;
            sw[l] += w;
            sw2[l] += w * w;
        }
    }
    float total = 0.0f, total2 = 0.0f;
    for (int l = 0; l < LANES; l++) { total += sw[l]; total2 += sw2[l]; }
    for (int32_t c = 0; c < d; c++) {
        const float *dc = delta_t + (int64_t)c * k_pad;
        float acc[LANES];
        for (int l = 0; l < LANES; l++) acc[l] = 0.0f;
        for (int32_t j = 0; j < k_pad; j += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += logw[j + l] * dc[j + l];
        float a = 0.0f;
        for (int l = 0; l < LANES; l++) a += acc[l];
        mean[c] = a / total;
    }
    return total * total / total2;
}

SDEFLOW_CLONES
void sdeflow_kernel_score(int32_t d, int32_t k_pad, const float *restrict delta_t,
                          const float *restrict norm2, const float *restrict kern,
                          const float *restrict z, float alpha, float beta2,
                          float *restrict scratch, float *restrict score) {
    float mean[SDEFLOW_MAX_DIM];
    softmax_mean(d, k_pad, delta_t, norm2, kern, z, alpha / beta2, 0.5f * alpha * alpha / beta2,
                 scratch, mean);
    for (int32_t c = 0; c < d; c++) score[c] = -(z[c] - alpha * mean[c]) / beta2;
}

SDEFLOW_CLONES
float sdeflow_label_ode(int32_t d, int32_t k_pad, const float *restrict delta_t,
                        const float *restrict norm2, const float *restrict kern,
                        float *restrict z, int32_t steps, float *restrict scratch) {
    const float h = 1.0f / (float)steps;
    float mean[SDEFLOW_MAX_DIM];
    float ess = 0.0f;
    for (int32_t s = 0; s < steps; s++) {
        // Lower end t of this step; coefficients at the shifted values of METHOD.md §2,
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

SDEFLOW_CLONES
float sdeflow_roofline(int32_t k_pad, const float *restrict a, const float *restrict b,
                       int32_t repeats) {
    float acc[LANES], acc2[LANES];
    for (int l = 0; l < LANES; l++) { acc[l] = 0.0f; acc2[l] = 0.0f; }
    float shift = 0.0f;
    for (int32_t r = 0; r < repeats; r++) {
        for (int32_t j = 0; j < k_pad; j += LANES) {
            for (int l = 0; l < LANES; l++) {
                float w = exp_nonpositive(a[j + l] * shift - b[j + l]);
                acc[l] += w;
                acc2[l] += w * a[j + l];
            }
        }
        shift += 1e-7f;
    }
    float s = 0.0f;
    for (int l = 0; l < LANES; l++) s += acc[l] + acc2[l];
    return s;
}
