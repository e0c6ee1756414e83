"""No Python names: the functions are cimported by split."""
