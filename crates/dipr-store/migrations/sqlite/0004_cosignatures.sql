-- Witness cosignatures (c2sp.org/tlog-cosignature) collected for the log's checkpoints.
CREATE TABLE log_cosignatures (
    size         BIGINT NOT NULL,
    witness      TEXT NOT NULL,
    line         TEXT NOT NULL,
    cosigned_at  BIGINT NOT NULL,
    PRIMARY KEY (size, witness)
);
