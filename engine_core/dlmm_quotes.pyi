from engine_core.dlmm_bins import DlmmBins

class DlmmQuotes(DlmmBins):
    """A layer of DlmmPool (the quote cache), not a pool of its own."""
