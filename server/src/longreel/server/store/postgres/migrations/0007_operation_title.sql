-- The title of the video an operation acts on, copied into the operation
-- when it starts: so every view of the operation names it (metadata.title)
-- from its first moment to long after a delete removed the video, and a
-- point read stays one row of one table. Operations from before take the
-- title of the video of their id, where it still exists. (ADD COLUMN with a
-- constant default rewrites no rows; the UPDATE touches each old one once.)
ALTER TABLE operations ADD COLUMN title TEXT NOT NULL DEFAULT '';
UPDATE operations o SET title = v.title FROM videos v WHERE v.id = o.video_id;
