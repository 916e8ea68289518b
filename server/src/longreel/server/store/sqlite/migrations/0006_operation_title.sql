-- The title of the video an operation acts on, copied into the operation
-- when it starts: so every view of the operation names it (metadata.title)
-- from its first moment to long after a delete removed the video, and a
-- point read stays one row of one table. Operations from before take the
-- title of the video of their id, where it still exists.
ALTER TABLE operations ADD COLUMN title TEXT NOT NULL DEFAULT '';
UPDATE operations SET title = (SELECT v.title FROM videos v WHERE v.id = operations.video_id)
    WHERE EXISTS (SELECT 1 FROM videos v WHERE v.id = operations.video_id);
