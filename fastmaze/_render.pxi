# Bindings of csrc/render.c (observations), included by _core.pyx.
