-- Orders, their numbered events, fills, execution attempts, and the venues' pool state.
-- Money columns are integer base units of the token they name (bigint).

CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    client_id       text        NOT NULL,
    client_order_id text,
    idem_key        text,
    request_hash    text        NOT NULL,
    symbol          text        NOT NULL,
    side            text        NOT NULL CHECK (side IN ('buy', 'sell')),
    type            text        NOT NULL CHECK (type IN ('market', 'limit', 'sniper')),
    time_in_force   text        NOT NULL,
    amount          bigint      NOT NULL CHECK (amount > 0),
    limit_price     bigint,
    expires_at      timestamptz,
    slippage_bps    integer     NOT NULL,
    status          text        NOT NULL,
    filled          bigint      NOT NULL DEFAULT 0,
    quote_amount    bigint      NOT NULL DEFAULT 0,
    fees            bigint      NOT NULL DEFAULT 0,
    route           jsonb,
    tx_hash         text,
    attempts        integer     NOT NULL DEFAULT 0,
    failure_reason  text,
    seq             integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (filled >= 0 AND filled <= amount)
);
CREATE UNIQUE INDEX orders_idem_key ON orders (client_id, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX orders_client_newest ON orders (client_id, created_at DESC, id DESC);
CREATE INDEX orders_newest ON orders (created_at DESC, id DESC);
CREATE INDEX orders_pending_age ON orders (created_at) WHERE status = 'pending';
CREATE INDEX orders_resting ON orders (symbol) WHERE status IN ('open', 'partially_filled');

CREATE TABLE order_events (
    event_id  bigserial   PRIMARY KEY,
    order_id  uuid        NOT NULL REFERENCES orders (id),
    client_id text        NOT NULL,
    seq       integer     NOT NULL,
    status    text        NOT NULL,
    ts        timestamptz NOT NULL DEFAULT now(),
    payload   jsonb       NOT NULL DEFAULT '{}',
    UNIQUE (order_id, seq)
);
CREATE INDEX order_events_client ON order_events (client_id, event_id);

CREATE TABLE attempts (
    order_id   uuid        NOT NULL REFERENCES orders (id),
    attempt    integer     NOT NULL,
    tx_hash    text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('submitted', 'landed', 'failed')),
    error      text,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz,
    PRIMARY KEY (order_id, attempt)
);

CREATE TABLE fills (
    id           bigserial   PRIMARY KEY,
    order_id     uuid        NOT NULL REFERENCES orders (id),
    attempt      integer     NOT NULL,
    venue        text        NOT NULL,
    amount       bigint      NOT NULL CHECK (amount > 0),
    quote_amount bigint      NOT NULL CHECK (quote_amount >= 0),
    fee          bigint      NOT NULL DEFAULT 0,
    tx_hash      text,
    ts           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fills_order ON fills (order_id);

CREATE TABLE pools (
    symbol     text        NOT NULL,
    venue      text        NOT NULL,
    kind       text        NOT NULL,
    state      jsonb       NOT NULL,
    version    bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, venue)
);
