-- What rendering made of a video: its file's place for the gateway, length,
-- size and digest, and its thumbnail. NULL until (and unless) it was rendered.
ALTER TABLE videos ADD COLUMN uri TEXT;
ALTER TABLE videos ADD COLUMN duration_us BIGINT;
ALTER TABLE videos ADD COLUMN size_bytes BIGINT;
ALTER TABLE videos ADD COLUMN sha256 TEXT;
ALTER TABLE videos ADD COLUMN thumbnail_uri TEXT;
