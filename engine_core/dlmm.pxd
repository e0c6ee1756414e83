from engine_core.dlmm_quotes cimport DlmmQuotes


cdef class DlmmPool(DlmmQuotes):
    pass
