-- Passwords people can change and recover. An account may give an e-mail address (where reset links go);
-- an account whose password someone else set (an administrator creating or resetting it) must change it
-- before doing anything else.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX users_email ON users (email);

-- A password reset link: the SHA-256 of its secret only, single use (`used_at`), valid until `expires_at`.
CREATE TABLE password_resets (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
