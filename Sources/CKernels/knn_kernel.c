// Exact K nearest neighbours by a blocked scan (see include/knn_kernel.h).
//
// The scan computes, for a group of R queries and 16 points at a time, the float key
// |p|^2 - 2 q.p (coordinates centred on the points' mean) with one vector FMA per coordinate and
// query, and compares it with each query's bound in the same registers: no distance matrix is
// written, and a point costs (D + 1) / 16 FMAs per query. Points that pass go to the query's
// candidate buffer; a full buffer is cut back to the k best by exact distance (`knn_shrink`),
// which also tightens the bound. Float rounding never changes the result: every decision on a
// key allows for its error bound (the query's `margin`), and the close calls are settled on the
// exact double distance.
#include "knn_kernel.h"
#include "dispatch.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES SDEFLOW_KNN_LANES
typedef float v16f __attribute__((ext_vector_type(LANES), aligned(4)));
typedef int32_t v16i __attribute__((ext_vector_type(LANES)));
typedef _Bool v16b __attribute__((ext_vector_type(LANES)));
// A macro, not a function: a v16f may not cross a call in the baseline clone (ABI).
#define load16(p) (*(const v16f *)(p))

/// The contract's distance: sum of (p_i - q_i)^2 in double, in coordinate order, each square
/// rounded before it is added (no fused multiply-add), so the bits match a plain loop anywhere.
static double knn_exact(const double *p, const double *q, int64_t dims) {
#pragma clang fp contract(off)
    double d = 0;
    for (int64_t i = 0; i < dims; i++) {
        const double t = p[i] - q[i];
        d += t * t;
    }
    return d;
}

/// The value of rank `rank` (0-based) among a[0 ..< n], which it reorders: Hoare quickselect
/// with a median-of-three pivot (runs of equal keys split evenly, so duplicates stay linear).
static float knn_select(float *a, int64_t n, int64_t rank) {
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        const float x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi];
        const float pivot = fmaxf(fminf(x, y), fminf(fmaxf(x, y), z));
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                const float t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        // Now a[lo ..< j + 1] <= pivot <= a[i ... hi], and everything between equals pivot.
        if (rank <= j) hi = j;
        else if (rank >= i) lo = i;
        else return pivot;
    }
    return a[lo];
}

static int knn_pair_compare(const void *a, const void *b) {
    const sdeflow_knn_pair *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static inline int knn_pair_less(sdeflow_knn_pair a, sdeflow_knn_pair b) {
    return a.dist < b.dist || (a.dist == b.dist && a.index < b.index);
}

sdeflow_knn_pair sdeflow_knn_select_pair(sdeflow_knn_pair *a, int64_t n, int64_t rank) {
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        // Median of three as the pivot, then a Lomuto partition (the pairs are distinct).
        const int64_t mid = lo + (hi - lo) / 2;
        if (knn_pair_less(a[mid], a[lo])) { sdeflow_knn_pair t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
        if (knn_pair_less(a[hi], a[lo])) { sdeflow_knn_pair t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
        if (knn_pair_less(a[hi], a[mid])) { sdeflow_knn_pair t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
        const sdeflow_knn_pair pivot = a[mid];
        a[mid] = a[hi]; a[hi] = pivot;
        int64_t store = lo;
        for (int64_t j = lo; j < hi; j++) {
            if (knn_pair_less(a[j], pivot)) { sdeflow_knn_pair t = a[j]; a[j] = a[store]; a[store++] = t; }
        }
        a[hi] = a[store]; a[store] = pivot;
        if (rank == store) return pivot;
        if (rank < store) hi = store - 1; else lo = store + 1;
    }
    return a[lo];
}

/// The smallest float >= x.
static float knn_round_up(double x) {
    float f = (float)x;
    if ((double)f < x) f = nextafterf(f, INFINITY);
    return f;
}

#define KNN_BINS 2048

/// Bin of `key` among KNN_BINS equal bins from `lo` on (`scale` bins per unit; in double, so a
/// range of keys as narrow as one float step cannot overflow it). Monotone in key (each
/// operation is), so a lower bin holds only smaller keys.
static inline int64_t knn_bin(float key, double lo, double scale) {
    const int64_t b = (int64_t)(((double)key - lo) * scale);
    return b < KNN_BINS - 1 ? b : KNN_BINS - 1;
}

/// The key of rank `rank` (0-based) among keys[0 ..< len], left in place: a histogram over
/// [min, max] finds its bin, whose few keys (copied to `work`) are quickselected. Every pass
/// but the last is branch-free: a quickselect over the whole buffer mispredicts on half its
/// comparisons, and was most of a search's time at k = 2000.
static float knn_rank(const float *keys, int64_t len, int64_t rank, float *work) {
    v16f lanes_lo = keys[0], lanes_hi = keys[0];  // 16 lanes at a time, then the tail
    int64_t tail = 0;
    for (; tail + LANES <= len; tail += LANES) {
        lanes_lo = __builtin_elementwise_min(lanes_lo, load16(keys + tail));
        lanes_hi = __builtin_elementwise_max(lanes_hi, load16(keys + tail));
    }
    float lo = __builtin_reduce_min(lanes_lo), hi = __builtin_reduce_max(lanes_hi);
    for (; tail < len; tail++) {
        lo = keys[tail] < lo ? keys[tail] : lo;
        hi = keys[tail] > hi ? keys[tail] : hi;
    }
    if (!(hi > lo)) return lo;
    const double scale = (KNN_BINS - 1) / ((double)hi - lo);
    int32_t hist[KNN_BINS] = {0};
    for (int64_t j = 0; j < len; j++) hist[knn_bin(keys[j], lo, scale)]++;
    int64_t b = 0, below = 0;
    while (below + hist[b] <= rank) below += hist[b++];
    int64_t m = 0;
    for (int64_t j = 0; j < len; j++) {
        work[m] = keys[j];
        m += knn_bin(keys[j], lo, scale) == b;
    }
    return knn_select(work, m, rank - below);
}

/// Cuts q's buffer (len > k) to the k best by (exact distance, index), in place and in order.
/// With kth the k-th smallest key and E the margin, every key is within E of (exact distance −
/// norm2), so keys below kth − 2E are surely among the k best, keys above kth + 2E surely not,
/// and only the keys in between (a handful) need their exact distance. A later point (larger
/// index) then beats the k-th best only if its distance is strictly smaller, which its key
/// can show only if it is below (k-th distance − norm2 + E): the new bound.
static void knn_shrink(sdeflow_knn_query *q, const sdeflow_knn_shared *s) {
    const int64_t k = s->k, len = q->len, dims = s->dims;
    const double kth = knn_rank(q->keys, len, k - 1, s->keys), wide = 2 * q->margin;
    // Key − kth (rounding is monotone, so the tests below are as safe as exact ones); one test
    // per case, so the only branch is on the rare close call.
    int64_t sure = 0, band = 0;
    for (int64_t j = 0; j < len; j++) {
        const double t = (double)q->keys[j] - kth;
        sure += t < -wide;
        if (fabs(t) <= wide) {
            const double d = knn_exact(s->points + (int64_t)q->index[j] * dims, q->query, dims);
            s->dists[band] = d;
            s->order[band++] = (sdeflow_knn_pair){d, q->index[j]};
        }
    }
    qsort(s->order, (size_t)band, sizeof(sdeflow_knn_pair), knn_pair_compare);
    const sdeflow_knn_pair cut = s->order[k - sure - 1];
    int64_t kept = 0;
    for (int64_t j = 0, b = 0; j < len; j++) {
        const float key = q->keys[j];
        const int32_t index = q->index[j];
        const double t = (double)key - kth;
        int keep = t < -wide;
        if (fabs(t) <= wide) {
            const double d = s->dists[b++];
            keep = d < cut.dist || (d == cut.dist && index <= cut.index);
        }
        q->keys[kept] = key;  // written always, kept only if `keep`: no branch on it
        q->index[kept] = index;
        kept += keep;
    }
    q->len = kept;
    q->bound = knn_round_up(cut.dist - q->norm2 + q->margin);
}

/// The slow path of the scan: appends to each of the r queries the lanes set in its mask (its
/// keys, points first ..< first + 16, that are below its bound), cutting a full buffer first.
__attribute__((noinline)) static void knn_take(const float (*keys)[LANES], const uint32_t *masks,
                                               int64_t r, int64_t first, sdeflow_knn_query *q,
                                               const sdeflow_knn_shared *s) {
    for (int64_t j = 0; j < r; j++) {
        sdeflow_knn_query *qj = q + j;
        uint32_t mask = masks[j];
        if (mask && qj->len + LANES > s->cap) {
            knn_shrink(qj, s);
            mask = 0;  // the bound moved: test the keys again
            for (int l = 0; l < LANES; l++) mask |= (uint32_t)(keys[j][l] < qj->bound) << l;
        }
        float *to = qj->keys;
        int32_t *index = qj->index;
        int64_t len = qj->len;
        for (; mask; mask &= mask - 1) {
            const int l = __builtin_ctz(mask);
            to[len] = keys[j][l];
            index[len++] = (int32_t)(first + l);
        }
        qj->len = len;
    }
}

/// The scan for a constant group size R: R accumulators of 16 lanes stay in registers over the
/// D coordinates; the per-query weights are broadcast from memory.
ALWAYS_INLINE void knn_scan_body(const float *restrict tile, int64_t groups, int64_t first,
                                 const float *restrict weights, sdeflow_knn_query *q,
                                 const sdeflow_knn_shared *s, const int R) {
    const int64_t dims = s->dims, stride = (dims + 1) * LANES;
    for (int64_t g = 0; g < groups; g++) {
        const float *p = tile + g * stride;
        v16f acc[16];
        const v16f norm = load16(p + dims * LANES);
        for (int j = 0; j < R; j++) acc[j] = norm;
        for (int64_t i = 0; i < dims; i++) {
            const v16f x = load16(p + i * LANES);
            const float *w = weights + i * R;
            for (int j = 0; j < R; j++) acc[j] += w[j] * x;
        }
        v16i hit = 0;
        for (int j = 0; j < R; j++) hit |= acc[j] < q[j].bound;
        if (__builtin_reduce_or(hit)) {
            float keys[16][LANES];
            uint32_t masks[16];
            for (int j = 0; j < R; j++) *(v16f *)keys[j] = acc[j];
            for (int j = 0; j < R; j++) {  // from memory: from acc[j], clang spilled acc
                const v16b below = __builtin_convertvector(load16(keys[j]) < q[j].bound, v16b);
                masks[j] = __builtin_bit_cast(uint16_t, below);
            }
            knn_take(keys, masks, R, first + g * LANES, q, s);
        }
    }
}

#define KNN_SCAN_PARAMS                                                                     \
    (const float *tile, int64_t groups, int64_t first, const float *weights, int64_t r,     \
     sdeflow_knn_query *q, const sdeflow_knn_shared *s)
#define KNN_CASE(R)                                                                         \
    case R: knn_scan_body(tile, groups, first, weights, q, s, R); return;

static void knn_scan_base KNN_SCAN_PARAMS {
    switch (r) { KNN_CASE(2) default: knn_scan_body(tile, groups, first, weights, q, s, 1); }
}
#if defined(__x86_64__)
TARGET_AVX2 static void knn_scan_avx2 KNN_SCAN_PARAMS {
    switch (r) { KNN_CASE(4) KNN_CASE(2) default: knn_scan_body(tile, groups, first, weights, q, s, 1); }
}
TARGET_AVX512 static void knn_scan_avx512 KNN_SCAN_PARAMS {
    switch (r) {
        KNN_CASE(16) KNN_CASE(8) KNN_CASE(4) KNN_CASE(2)
        default: knn_scan_body(tile, groups, first, weights, q, s, 1);
    }
}
#endif

int64_t sdeflow_knn_group_max(void) {
    const int level = isa_level();
    return level == 2 ? 16 : level == 1 ? 4 : 2;
}

void sdeflow_knn_scan KNN_SCAN_PARAMS {
#if defined(__x86_64__)
    switch (isa_level()) {
    case 2: knn_scan_avx512(tile, groups, first, weights, r, q, s); return;
    case 1: knn_scan_avx2(tile, groups, first, weights, r, q, s); return;
    }
#endif
    knn_scan_base(tile, groups, first, weights, r, q, s);
}

void sdeflow_knn_finish(sdeflow_knn_query *q, const sdeflow_knn_shared *s) {
    if (q->len > s->k) knn_shrink(q, s);
}
