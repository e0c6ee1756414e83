"""The engine's pure core, compiled with Cython: the order state machine and its status
vocabulary (fsm), AMM and DLMM pool math, routing, the book, fills and price limits.

Nothing in this package does I/O; the service layer feeds it integers and gets integers back.
May import: the standard library, libc/libcpp and its own modules. Never `service`, `bench`,
`tests`, nor any I/O library (a contract in pyproject checks it). Each `.pyx` has a `.pyi`,
checked against the built module by tests/unit/engine_core/test_stubs.py.
"""
