print("sdeflow-mpi")
