#include "mlp_kernel.h"
#include <string.h>

// The element-wise parts of a training step that are not GEMMs: the hidden activation (a quarter
// of a million tanh per 4x256 step and rank), its back-propagation with the bias gradient, and the
// Adam update (every parameter, every step). Swift compiles for baseline x86-64 (SSE2, no FMA)
// unless given a build flag; as Swift loops, tanh and Adam alone took ~20 % of a 4x256 step. Here
// each public kernel is compiled three times - AVX-512, AVX2+FMA, baseline - from one inline body
// and picked at first call by CPU feature (`dispatch.h`), as the label kernel is.
#include "dispatch.h"

// 8 float lanes as one value (one ymm with AVX2/AVX-512, two xmm on the baseline). Explicit
// lanes, because clang does not vectorise sqrtf (errno) and tail elements then take the same
// code path as the others: a partial vector is staged through a padded buffer.
typedef float v8 __attribute__((ext_vector_type(8), aligned(4)));
typedef int32_t v8i __attribute__((ext_vector_type(8), aligned(4)));
#define LANES 8
#define splat(x) ((v8)(float)(x))
#define load(p) (*(const v8 *)(p))
#define store(p, v) (*(v8 *)(p) = (v))
// Macros, not functions: a v8 may not cross a call in the baseline clone (ABI).
#define SELECT(mask, a, b) ((v8)(((mask) & (v8i)(a)) | (~(mask) & (v8i)(b))))

// out = tanh(x) for 8 lanes: p(x) / q(x), p odd of degree 13, q even of degree 6; branch-free.
#define TANH8(out, x_in)                                                            \
    do {                                                                            \
        const v8 x0_ = (x_in);                                                      \
        const float c_ = 7.90531110763549805f;                                      \
        v8 x_ = SELECT(x0_ < splat(-c_), splat(-c_), x0_);                          \
        x_ = SELECT(x_ > splat(c_), splat(c_), x_);                                 \
        const v8 x2_ = x_ * x_;                                                     \
        v8 p_ = x2_ * -2.76076847742355e-16f + 2.00018790482477e-13f;               \
        p_ = p_ * x2_ + -8.60467152213735e-11f;                                     \
        p_ = p_ * x2_ + 5.12229709037114e-08f;                                      \
        p_ = p_ * x2_ + 1.48572235717979e-05f;                                      \
        p_ = p_ * x2_ + 6.37261928875436e-04f;                                      \
        p_ = p_ * x2_ + 4.89352455891786e-03f;                                      \
        v8 q_ = x2_ * 1.19825839466702e-06f + 1.18534705686654e-04f;                \
        q_ = q_ * x2_ + 2.26843463243900e-03f;                                      \
        q_ = q_ * x2_ + 4.89352518554385e-03f;                                      \
        const v8 r_ = p_ * x_ / q_;                                                 \
        const v8 ax_ = (v8)((v8i)x0_ & 0x7fffffff);                                 \
        (out) = SELECT(ax_ < splat(0.0004f), x0_, r_);                              \
    } while (0)

ALWAYS_INLINE void sdeflow_mlp_tanh_body(float *restrict z, int64_t count) {
    const int64_t full = count / LANES * LANES;
    for (int64_t i = 0; i < full; i += LANES) {
        v8 t;
        TANH8(t, load(z + i));
        store(z + i, t);
    }
    if (full < count) {
        float buf[LANES] = {0};
        memcpy(buf, z + full, (size_t)(count - full) * sizeof(float));
        v8 t;
        TANH8(t, load(buf));
        store(buf, t);
        memcpy(z + full, buf, (size_t)(count - full) * sizeof(float));
    }
}
DISPATCH(void, sdeflow_mlp_tanh, (float *restrict z, int64_t count), (z, count))

ALWAYS_INLINE void sdeflow_mlp_tanh_backward_body(float *restrict delta, const float *restrict a,
                                                 int64_t rows, int64_t cols,
                                                 float *restrict bias_grad) {
    const int64_t full = cols / LANES * LANES;
    const size_t tail = (size_t)(cols - full) * sizeof(float);
    for (int64_t r = 0; r < rows; r++) {
        float *restrict d = delta + r * cols;
        const float *restrict ar = a + r * cols;
        for (int64_t j = 0; j < full; j += LANES) {
            const v8 av = load(ar + j), dv = load(d + j) * (1.0f - av * av);
            store(d + j, dv);
            store(bias_grad + j, load(bias_grad + j) + dv);
        }
        if (tail) {
            float db[LANES] = {0}, ab[LANES] = {0}, gb[LANES] = {0};
            memcpy(db, d + full, tail); memcpy(ab, ar + full, tail); memcpy(gb, bias_grad + full, tail);
            const v8 av = load(ab), dv = load(db) * (1.0f - av * av);
            store(db, dv);
            store(gb, load(gb) + dv);
            memcpy(d + full, db, tail); memcpy(bias_grad + full, gb, tail);
        }
    }
}
DISPATCH(void, sdeflow_mlp_tanh_backward,
         (float *restrict delta, const float *restrict a, int64_t rows, int64_t cols,
          float *restrict bias_grad),
         (delta, a, rows, cols, bias_grad))

// One Adam step on 8 lanes, operations in the order of the documented formula.
#define ADAM8(p, g, m, v, s)                                                        \
    do {                                                                            \
        const v8 gi_ = (s).weight_decay == 0 ? (g) : (g) + (s).weight_decay * (p);  \
        (m) = (m) + (s).first_weight * (gi_ - (m));                                 \
        (v) = (s).second_decay * (v) + (s).second_weight * gi_ * gi_;               \
        const v8 denom_ = __builtin_elementwise_sqrt(v) / (s).bias_sqrt + (s).epsilon; \
        (p) = (p) - (s).step_size * ((m) / denom_);                                 \
    } while (0)

ALWAYS_INLINE void sdeflow_adam_update_body(float *restrict p, const float *restrict g,
                                            float *restrict m, float *restrict v, int64_t count,
                                            sdeflow_adam_step s) {
#pragma clang fp contract(off)
    const int64_t full = count / LANES * LANES;
    for (int64_t i = 0; i < full; i += LANES) {
        v8 pi = load(p + i), mi = load(m + i), vi = load(v + i);
        ADAM8(pi, load(g + i), mi, vi, s);
        store(p + i, pi); store(m + i, mi); store(v + i, vi);
    }
    if (full < count) {
        const size_t bytes = (size_t)(count - full) * sizeof(float);
        float pb[LANES] = {0}, gb[LANES] = {0}, mb[LANES] = {0}, vb[LANES] = {0};
        memcpy(pb, p + full, bytes); memcpy(gb, g + full, bytes);
        memcpy(mb, m + full, bytes); memcpy(vb, v + full, bytes);
        v8 pi = load(pb), mi = load(mb), vi = load(vb);
        ADAM8(pi, load(gb), mi, vi, s);
        store(pb, pi); store(mb, mi); store(vb, vi);
        memcpy(p + full, pb, bytes); memcpy(m + full, mb, bytes); memcpy(v + full, vb, bytes);
    }
}
DISPATCH(void, sdeflow_adam_update,
         (float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
          int64_t count, sdeflow_adam_step s),
         (p, g, m, v, count, s))
