from engine_core.dlmm_breaks cimport DlmmBreaks


cdef class DlmmPool(DlmmBreaks):
    pass
