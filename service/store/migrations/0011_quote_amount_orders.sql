-- Quote-denominated market orders (issue 15): `quoteAmount` instead of `amount` on a market
-- order, "spend (buy) or receive (sell) that much of the quote token". The target is kept
-- in `quote_target` (quote-token base units); such an order has no `amount` when it is
-- accepted: the worker sizes the base amount from the pools at each attempt, and what it
-- filled is the order's `filled`. Exactly one of amount / quote_target is set.
ALTER TABLE orders ADD COLUMN quote_target bigint;
ALTER TABLE orders ALTER COLUMN amount DROP NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_amount_or_quote_target CHECK (
    (amount IS NULL) <> (quote_target IS NULL)
    AND (quote_target IS NULL OR (quote_target > 0 AND type = 'market'))
);
