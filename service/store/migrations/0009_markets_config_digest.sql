-- Each market's digest of what markets.toml said when its row and pools were seeded (token
-- decimals, reference price, launched, venues): a start with a changed file for an existing
-- market is refused with a message (service/store/pools.py), instead of silently ignored.
ALTER TABLE markets ADD COLUMN config_digest text;
