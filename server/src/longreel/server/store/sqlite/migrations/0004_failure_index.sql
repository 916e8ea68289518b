-- Finished operations that failed or were cancelled, for the metrics' counts
-- by outcome: the successes are the rest of operations_by_done, so no count
-- reads the table itself.
CREATE INDEX operations_by_failure ON operations (error_code) WHERE done = 1 AND error_code <> 0;
