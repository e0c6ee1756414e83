-- Each market's simulated state beside its pools: the reference price of the price process
-- (quote base units per whole base token, as a decimal string) and whether it is launched.
CREATE TABLE markets (
    symbol          text        PRIMARY KEY,
    reference_price numeric     NOT NULL,
    launched        boolean     NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_live_symbol ON orders (symbol)
    WHERE status NOT IN ('pending', 'filled', 'canceled', 'expired', 'rejected', 'failed');
