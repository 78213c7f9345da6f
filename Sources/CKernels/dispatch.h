// Shared by the kernels of this target (private header, not part of the Swift module).
#pragma once

// Each public kernel is compiled three times — AVX-512, AVX2+FMA, baseline — from one inline
// body, and picked at first call by CPU *feature* (not CPU name: `target_clones` resolvers
// picked the baseline on AMD EPYC with AVX2 here). No build flag is needed.
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__)
#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
static int isa_level(void) {
    static int level = -1;  // benign race: every thread computes the same value
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") ? 2
              : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    }
    return level;
}
// Defines NAME (the public function) dispatching to three compilations of NAME##_body.
#define DISPATCH(RET, NAME, PARAMS, ARGS)                                      \
    TARGET_AVX512 static RET NAME##_avx512 PARAMS { return NAME##_body ARGS; } \
    TARGET_AVX2 static RET NAME##_avx2 PARAMS { return NAME##_body ARGS; }     \
    static RET NAME##_base PARAMS { return NAME##_body ARGS; }                 \
    RET NAME PARAMS {                                                          \
        switch (isa_level()) {                                                 \
        case 2: return NAME##_avx512 ARGS;                                     \
        case 1: return NAME##_avx2 ARGS;                                       \
        default: return NAME##_base ARGS;                                      \
        }                                                                      \
    }
#else
static int isa_level(void) { return 0; }
#define DISPATCH(RET, NAME, PARAMS, ARGS) RET NAME PARAMS { return NAME##_body ARGS; }
#endif
