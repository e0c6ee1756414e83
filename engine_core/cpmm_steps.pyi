# engine_core.cpmm_steps: cdef functions only (CpmmPool.breaks_c uses them); nothing at
# the Python level.
