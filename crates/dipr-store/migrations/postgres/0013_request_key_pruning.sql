-- Answered request keys are pruned once older than `request_key_days` (they are not register data: a repeat
-- after that is a new request). `created_at` is when a key was last claimed (a retry of a retryable answer
-- claims it again); pruning reads the oldest first.
CREATE INDEX request_keys_created ON request_keys (created_at);
