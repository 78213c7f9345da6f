int sdeflow_placeholder(void) { return 0; }
