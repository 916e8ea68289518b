-- The trace context (a W3C traceparent) of the request that made a job, so
-- the worker that runs it, in any process, continues that trace. NULL when
-- the request was not traced.
ALTER TABLE jobs ADD COLUMN trace_parent TEXT;
