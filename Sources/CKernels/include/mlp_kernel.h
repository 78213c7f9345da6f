#pragma once
#include <stdint.h>

/// Hidden-layer activation of the MLP, in place: z[i] = tanh(z[i]) for `count` float32 values. tanh is a [13/6] rational minimax approximation (Eigen's
/// `generic_fast_tanh_float` coefficients and input clamp at +-7.9053, where 1 - tanh < 3e-7),
/// and the identity below |x| < 4e-4. Max |error| vs double tanh over every float in [-12, 12]:
/// 2.9e-7 with AVX2+FMA (3.9e-7 without FMA); beyond the clamp it returns +-0.99999976 (FMA) or
/// +-1. Tested in MLPTests.fastTanhAccuracy.
void sdeflow_mlp_tanh(float *z, int64_t count);

/// Back-propagation through a tanh layer, in place, for a rows x cols row-major block (float32):
/// delta[r*cols + j] *= 1 - a[r*cols + j]^2 (a = that layer's tanh output), then
/// bias_grad[j] += sum over r of the new delta[r*cols + j], added in row order.
void sdeflow_mlp_tanh_backward(float *delta, const float *a, int64_t rows, int64_t cols,
                               float *bias_grad);

/// Scalars of one Adam step (all float32, derived by the caller from beta1, beta2, lr and t).
typedef struct {
    float first_weight;   ///< 1 - beta1
    float second_decay;   ///< beta2
    float second_weight;  ///< 1 - beta2
    float step_size;      ///< lr / (1 - beta1^t)
    float bias_sqrt;      ///< sqrt(1 - beta2^t)
    float epsilon;
    float weight_decay;   ///< L2 term added to the gradient (0: none)
} sdeflow_adam_step;

/// One Adam update of `count` parameters p with gradient g and moments m, v (all float32, not
/// aliasing), in PyTorch's order of operations and without fused multiply-adds, so every CPU
/// (and every vector width) gives bit-identical parameters:
///     g' = g + wd p;  m += (1-b1)(g' - m);  v = b2 v + (1-b2) g'^2;
///     p -= step_size * (m / (sqrt(v) / bias_sqrt + eps))
void sdeflow_adam_update(float *p, const float *g, float *m, float *v, int64_t count,
                         sdeflow_adam_step s);

