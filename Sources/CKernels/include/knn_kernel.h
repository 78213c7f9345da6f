#pragma once
#include <stdint.h>

/// Points per packed group: one 16-lane float vector per coordinate.
#define SDEFLOW_KNN_LANES 16

/// A candidate's exact squared distance and point index, for ordering by (dist, index).
typedef struct {
    double dist;
    int64_t index;
} sdeflow_knn_pair;

/// What every query of a search shares.
///   points   count x dims doubles, row-major, as given: the exact distances come from these;
///   dims     D; k the neighbours wanted; cap the capacity of each query's candidate buffer
///            (>= k + SDEFLOW_KNN_LANES);
///   keys     cap floats, dists cap doubles, order cap (double, int64) pairs: workspace of the
///            candidate selection (one query at a time).
typedef struct {
    const double *points;
    int64_t dims, k, cap;
    float *keys;
    double *dists;
    sdeflow_knn_pair *order;
} sdeflow_knn_shared;

/// One query's running state. `key` below is the approximate |p - m|^2 - 2 (q - m).(p - m) in
/// float (m the points' mean), which differs from the exact squared distance minus `norm2` by
/// at most `margin`.
///   query    dims doubles, as given;
///   norm2    |q - m|^2 in double; margin the bound above (squared normalised units);
///   bound    points with key >= bound are certainly not among the k nearest (+inf at first);
///   len      candidates held: keys[0 ..< len] and their point indices, ascending;
///   keys     cap floats; index cap point indices.
typedef struct {
    const double *query;
    double norm2, margin;
    float bound;
    int64_t len;
    float *keys;
    int32_t *index;
} sdeflow_knn_query;

/// Queries one group scans together: 16 with AVX-512, 4 with AVX2, 2 otherwise.
int64_t sdeflow_knn_group_max(void);

/// Scans `groups` packed groups of 16 points, the first of which is point `first`, for the `r`
/// queries `q[0 ..< r]` (r a power of two <= sdeflow_knn_group_max()), appending to each query
/// every point whose key is below its bound (shrinking the buffer when it fills).
///   tile     groups x (dims + 1) x 16 floats: per group, coordinate i of its 16 points (centred
///            on the mean) in row i, and their squared norms in row dims (+inf for padding);
///   weights  dims x r floats: -2 (q - m)_i of query j at [i r + j].
void sdeflow_knn_scan(const float *tile, int64_t groups, int64_t first, const float *weights,
                      int64_t r, sdeflow_knn_query *q, const sdeflow_knn_shared *s);

/// Leaves exactly the k nearest points held by `q` (by exact distance, ties to the smaller
/// index) in q->index[0 ..< k], ascending. Needs q->len >= k.
void sdeflow_knn_finish(sdeflow_knn_query *q, const sdeflow_knn_shared *s);

/// The pair of rank `rank` (0-based) by (dist, index) among the n distinct pairs a[0 ..< n],
/// which it reorders (quickselect): the K-th best of candidates gathered from several shards.
sdeflow_knn_pair sdeflow_knn_select_pair(sdeflow_knn_pair *a, int64_t n, int64_t rank);
