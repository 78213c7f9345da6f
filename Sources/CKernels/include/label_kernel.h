#pragma once
#include <stdint.h>

/// Largest state dimension d the kernels accept (stack buffers).
#define SDEFLOW_MAX_DIM 256

/// Integrates one query's probability-flow ODE (docs/METHOD.md §2) backwards from tau = 1 to 0
/// with explicit Euler on `steps` uniform steps, using the kernel-weighted score over its
/// neighbours, and leaves the label Z_0 in `z`.
///
/// Shapes (float32, K_pad a multiple of 16, padded entries have kern = -INFINITY):
///   delta_t  d x K_pad   scaled displacements c (y_j - x_j), component-major so every
///                        inner loop runs over neighbours with unit stride;
///   norm2    K_pad       |delta_j|^2;
///   kern     K_pad       tau-independent log kernel weight of neighbour j;
///   z        d           in: z ~ N(0, I); out: the label;
///   scratch  K_pad       workspace (log-weights of the current step).
/// Returns the effective sample size (sum w)^2 / sum w^2 of the weights at the last step.
float sdeflow_label_ode(int32_t d, int32_t k_pad, const float *delta_t, const float *norm2,
                        const float *kern, float *z, int32_t steps, float *scratch);

/// The same ODE on a given grid tau[0] = 1 > tau[1] > ... > tau[steps] >= 0 (steps + 1 values)
/// with DPM-Solver++(2M), an exponential integrator: per step the posterior mean of the
/// displacement is held fixed (or extrapolated from the previous step) and the linear rest of
/// the ODE solved exactly; a grid ending at 0 lands on the posterior mean at tau[steps - 1].
/// A grid ending above 0 finishes with mean + kappa[c] (Z/alpha - mean) per component (kappa:
/// d values; unused otherwise). Same layouts and return value as above.
float sdeflow_label_ode_grid(int32_t d, int32_t k_pad, const float *delta_t, const float *norm2,
                             const float *kern, float *z, int32_t steps, const float *tau,
                             const float *kappa, float *scratch);

/// The same with a d x d `kappa` (row-major): the finish above a grid ending above 0 is
/// mean + kappa (Z/alpha - mean), for locally Gaussian laws with correlated components.
float sdeflow_label_ode_grid_matrix(int32_t d, int32_t k_pad, const float *delta_t, const float *norm2,
                                    const float *kern, float *z, int32_t steps, const float *tau,
                                    const float *kappa, float *scratch);

/// The kernel-weighted score S(z, tau) = -(z - alpha sum_j omega_j delta_j) / beta2 at one
/// (alpha, beta2), same layouts as above; `score` gets d values. The ODE uses the same code.
void sdeflow_kernel_score(int32_t d, int32_t k_pad, const float *delta_t, const float *norm2,
                          const float *kern, const float *z, float alpha, float beta2,
                          float *scratch, float *score);

/// A tight loop doing only the unavoidable work per neighbour-step (one exp, a few fused
/// multiply-adds) over in-cache data: the roofline the label kernel is measured against.
/// Returns a checksum so the work is not optimised away.
float sdeflow_roofline(int32_t k_pad, const float *a, const float *b, int32_t repeats);

/// Which compilation of the kernels runs on this CPU: "avx512", "avx2+fma" or "baseline".
const char *sdeflow_kernel_isa(void);
