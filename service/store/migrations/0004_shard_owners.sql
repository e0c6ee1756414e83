-- Fencing (issue 13): the lease epoch of each shard's owner, advanced by a new owner when it
-- takes the shard (UPDATE ... WHERE epoch < new). Every writer transaction starts with
-- oe_fence(its shards, its epochs): it locks those rows FOR SHARE (a takeover's UPDATE
-- waits for the transaction, and the transaction waits for a takeover in progress) and
-- raises SQLSTATE OEF01 naming the shards whose epoch is not the caller's any more.
CREATE TABLE shard_owners (
    shard      integer     PRIMARY KEY,
    epoch      bigint      NOT NULL,
    owner      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION oe_fence(p_shards integer[], p_epochs bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stale text;
BEGIN
    PERFORM 1 FROM shard_owners WHERE shard = ANY(p_shards) ORDER BY shard FOR SHARE;
    SELECT string_agg(f.shard::text, ',' ORDER BY f.shard) INTO stale
      FROM unnest(p_shards, p_epochs) AS f(shard, epoch)
      LEFT JOIN shard_owners o ON o.shard = f.shard
     WHERE o.epoch IS DISTINCT FROM f.epoch;
    IF stale IS NOT NULL THEN
        RAISE EXCEPTION 'stale shard epoch: %', stale USING ERRCODE = 'OEF01', DETAIL = stale;
    END IF;
END
$$;

-- Pool rows are written only at the version the writer read (or inserted when new): a
-- write over a version it never saw raises OEP01 naming the pools.
CREATE FUNCTION oe_write_pools(p_rows json, p_ts timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stale text;
BEGIN
    WITH r AS (
        SELECT * FROM json_to_recordset(p_rows)
            AS r(symbol text, venue text, kind text, state jsonb, version bigint)
    ), u AS (
        UPDATE pools p SET state = r.state, version = p.version + 1, updated_at = p_ts
          FROM r WHERE p.symbol = r.symbol AND p.venue = r.venue AND p.version = r.version
        RETURNING p.symbol, p.venue
    ), i AS (
        INSERT INTO pools (symbol, venue, kind, state, version, updated_at)
        SELECT symbol, venue, kind, state, 1, p_ts FROM r WHERE version IS NULL
        ON CONFLICT (symbol, venue) DO NOTHING
        RETURNING symbol, venue
    )
    SELECT string_agg(r.symbol || ' ' || r.venue, ',') INTO stale FROM r
     WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.symbol = r.symbol AND u.venue = r.venue)
       AND NOT EXISTS (SELECT 1 FROM i WHERE i.symbol = r.symbol AND i.venue = r.venue);
    IF stale IS NOT NULL THEN
        RAISE EXCEPTION 'stale pool version: %', stale USING ERRCODE = 'OEP01', DETAIL = stale;
    END IF;
END
$$;
