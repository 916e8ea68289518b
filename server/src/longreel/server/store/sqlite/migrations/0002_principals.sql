-- Who each operation and video belongs to: the authenticated caller, or ''
-- when the server runs without authentication. Every read a caller makes is
-- scoped to its own, and request_ids are per caller.
ALTER TABLE operations ADD COLUMN principal TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN principal TEXT NOT NULL DEFAULT '';

DROP INDEX operations_by_request;
CREATE UNIQUE INDEX operations_by_request ON operations (principal, verb, request_id)
    WHERE request_id IS NOT NULL;
CREATE INDEX operations_by_principal ON operations (principal, seq);
CREATE INDEX videos_by_principal ON videos (principal, list_seq);
