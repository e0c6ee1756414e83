from engine_core.dlmm_quotes import DlmmQuotes

class DlmmBreaks(DlmmQuotes):
    """A layer of DlmmPool (the step edges for the searches), not a pool of its own."""
