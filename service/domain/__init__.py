"""The trading domain in pure Python, no I/O: markets and tokens, units and prices, the live
order, routing-decision JSON and the pub/sub wire format.

May import: `engine_core`, the standard library, orjson. Nothing else of `service`.
"""
