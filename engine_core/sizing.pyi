"""No Python names: sized_route_c is cimported by limits."""
