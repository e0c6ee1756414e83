-- The mock chain's ledger (issue 13): every transaction a worker sent, by signature, with the
-- deadline after which it can no longer land (Solana's lastValidBlockHeight: sent_at plus
-- MOCK_BLOCKHASH_VALIDITY_MS), and once it landed, when (landed_at and its slot) and how
-- (outcome). Written only in a worker's group commit: a transaction's row in the batch that
-- stores its attempt `submitted`, its landing in the batch that stores `confirmed`, its fills
-- and the pools, so the ledger and the orders never disagree. Read by signature
-- (getSignatureStatuses) by a worker that takes over an attempt it did not send.
CREATE TABLE chain_transactions (
    signature   text        PRIMARY KEY,
    order_id    uuid        NOT NULL,
    attempt     integer     NOT NULL,
    sent_at     timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    landed_at   timestamptz,
    slot        bigint,
    outcome     text,
    CHECK ((landed_at IS NULL) = (slot IS NULL) AND (landed_at IS NULL) = (outcome IS NULL))
);
