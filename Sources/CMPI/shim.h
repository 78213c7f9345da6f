// Open MPI defines its handles as casts of addresses of incomplete globals, which Swift
// cannot import. Each one is wrapped in a static inline function here.
#include <mpi.h>

static inline MPI_Comm sdeflow_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype sdeflow_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype sdeflow_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype sdeflow_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype sdeflow_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype sdeflow_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Op sdeflow_op_sum(void) { return MPI_SUM; }
static inline MPI_Op sdeflow_op_max(void) { return MPI_MAX; }
static inline MPI_Op sdeflow_op_min(void) { return MPI_MIN; }
static inline void *sdeflow_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler sdeflow_errors_return(void) { return MPI_ERRORS_RETURN; }
