-- RFC 3161 time-stamp tokens (可信时间戳) a TSA returned for the log's checkpoints: the DER token over the
-- SHA-256 of the checkpoint's text, and the TSA's time from it.
CREATE TABLE log_timestamps (
    size        BIGINT NOT NULL,
    tsa         TEXT NOT NULL,
    token       BYTEA NOT NULL,
    gen_time    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (size, tsa)
);
