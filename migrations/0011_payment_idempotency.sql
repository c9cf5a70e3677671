-- A payment recorded through the API with an Idempotency-Key is recorded
-- once: a retry of the same request by the same person answers with the
-- first payment, and the same key on a different request is refused.
ALTER TABLE payments ADD COLUMN idempotency_key TEXT;
ALTER TABLE payments ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX payments_idempotency ON payments (recorded_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
