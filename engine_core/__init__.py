"""The engine's pure core, compiled with Cython: order state machine, AMM math, routing, fills.

Nothing in this package does I/O; the service layer feeds it integers and gets integers back.
"""
