-- A commit-ordered event log per shard (issue 13): every event gets (shard, shard_offset),
-- its position in its shard's log. Offsets are taken from `shard_offsets` in the
-- transaction that inserts the events: the row stays locked until that transaction commits,
-- so the next writer of the shard (a worker's batch or the API's insert of pending events)
-- gets the following offsets only after this commit. A shard's offsets are therefore
-- gap-free (a rolled-back transaction gives its offsets back) and commit-ordered: once
-- offset N is visible, so is every offset below N. Resume cursors are positions in these logs.
--
-- Events stored before this migration have no position (NULL): they are in no log, a cursor
-- never replays them.
CREATE TABLE shard_offsets (
    shard integer PRIMARY KEY CHECK (shard >= 0),
    last  bigint  NOT NULL CHECK (last >= 0)  -- the highest offset taken in this shard
);
ALTER TABLE order_events ADD COLUMN shard integer, ADD COLUMN shard_offset bigint;
CREATE UNIQUE INDEX order_events_shard_log ON order_events (shard, shard_offset);
-- A client's replay by cursor reads its events shard by shard, by offset. It replaces the
-- index by eventId: eventIds are taken before commit, nothing reads them in order any more.
CREATE INDEX order_events_client_log ON order_events (client_id, shard, shard_offset);
DROP INDEX IF EXISTS order_events_client;
