# Bindings of csrc/solve.c (BFS oracles), included by _core.pyx.
