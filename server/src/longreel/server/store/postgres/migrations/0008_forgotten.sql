-- DeleteOperation of an unfinished operation: google.longrunning says the
-- caller is no longer interested in its result, not that the work stops.
-- Such an operation is marked forgotten: hidden from its caller at once, its
-- job runs on (the video is still made or removed), and the row goes when
-- the job ends. (A constant default rewrites no rows.)
ALTER TABLE operations ADD COLUMN forgotten BOOLEAN NOT NULL DEFAULT FALSE;
