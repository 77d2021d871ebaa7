-- Requests that must happen at most once: a key (the API's Idempotency-Key header, or the single-use key
-- every web form carries) per caller, claimed before the request runs and holding its answer afterwards,
-- so a repeated request is answered again instead of being executed again.
CREATE TABLE request_keys (
    principal   TEXT NOT NULL,
    request_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    status      INTEGER,
    headers     TEXT,
    body        BYTEA,
    retryable   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (principal, request_key)
);
