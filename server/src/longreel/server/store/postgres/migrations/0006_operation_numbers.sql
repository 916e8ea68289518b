-- Operation numbers from a sequence instead of the 'operations' counter row,
-- whose lock every create held to its commit (so two servers' creates took
-- turns at one row). A sequence hands out numbers without a lock, in the
-- order nextval is called, not the order of commits: listing.py reads pages
-- only as far as no transaction still running can commit a lower number.
-- CACHE 1 (the default) is required: numbers cached per session would not
-- be in time order across sessions, and the argument in listing.py needs
-- that. Stop servers of older releases before this runs: they would still
-- number from the counter.
CREATE SEQUENCE operation_numbers AS BIGINT CACHE 1;
SELECT setval('operation_numbers', GREATEST(value, 1), value > 0)
    FROM counters WHERE name = 'operations';
DELETE FROM counters WHERE name = 'operations';
