"""The simulated world around the engine: the mock chain (latency, failures, signatures), the
seeded reference price process and the outside traders that move the venues.

May import: `engine_core`, `service.domain`, `service.config` (and the worker's MarketState as
a type only). The engine core never imports it.
"""
