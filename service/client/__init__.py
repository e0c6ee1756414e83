"""The command-line client (`order-engine submit|watch|cancel|orders|quote|markets`): talks to a
running engine over HTTP and WebSocket only.

May import: `service.__version__`, the standard library, websockets. Never the engine's
internals: it sees what any client program sees.
"""
