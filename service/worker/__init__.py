"""Engine workers: each process owns a set of shards (markets) and executes their orders.

Split by job: `intake` (read, claim, sweep, ack the streams), `commands` (cancel, /sim),
`recovery` (books and re-announce at start), `roster` (the orders held), `planner` (pure: what
an order can execute now), `executor` (one attempt after another), `writer` (the group commit),
`market_state`, `attempt_pacer`; `worker` composes them and `main` is the process.

May import: `engine_core`, `service.domain`, `service.store`, `service.simulator`,
`service.config`, `service.metrics`. Never `service.api` or `service.relay` (they talk over
Redis), nor `service.runtime`.
"""
