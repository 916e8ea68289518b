-- The title of the video an operation acts on, copied into the operation
-- when it starts: so every view of the operation names it (metadata.title)
-- from its first moment to long after a delete removed the video, and a
-- point read stays one row of one table. Of the operations from before,
-- the unfinished ones (those with a job) take the title of their video:
-- views name running work by it. Finished ones keep '' (a create's
-- response, the Video, names it), so the upgrade touches a handful of rows
-- instead of rewriting the table while older servers wait on its lock.
-- (ADD COLUMN with a constant default rewrites no rows.)
ALTER TABLE operations ADD COLUMN title TEXT NOT NULL DEFAULT '';
UPDATE operations o SET title = v.title
    FROM jobs j, videos v WHERE j.operation_seq = o.seq AND v.id = o.video_id;
