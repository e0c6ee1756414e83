"""The service layer: API, workers, WebSocket relay, store, metrics, config and CLI."""

__version__ = "0.1.0"
