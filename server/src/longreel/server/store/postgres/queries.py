"""PostgreSQL's SQL: the named queries the store's rules (../rules.py) ask for.

Many processes write at once, so rows a rule reads and then changes are
locked as they are read (FOR UPDATE), always a job's row before its
operation's; claims and expiry skip rows another transaction holds (SKIP
LOCKED). An operation's number comes from a sequence, taken only once its
transaction has an id (listing.py says why); a video's list number from the
counters table, whose row lock keeps them in commit order. Parameters are
named (`%(name)s`); `{mine}` and `{condition}` are filled in by the rules (a
caller's scope, a parsed filter).
"""

from __future__ import annotations

from ..columns import OPERATION_COLUMNS, VIDEO_COLUMNS, VISIBLE_VIDEO, media_update
from ..dialect import Dialect


def param(name: str) -> str:
    return f"%({name})s"


QUERIES = {
    # --- reading ---
    "operation": f"SELECT {OPERATION_COLUMNS} FROM operations WHERE id = %(id)s AND {{mine}}",
    "operation_seq": "SELECT seq FROM operations WHERE id = %(id)s AND {mine}",
    "list_operations": (
        f"SELECT {OPERATION_COLUMNS} FROM operations"
        " WHERE {after} AND {mine} AND {condition} ORDER BY {order} LIMIT %(limit)s"
    ),
    "video": (
        f"SELECT {VIDEO_COLUMNS} FROM videos WHERE id = %(video)s AND {{mine}} AND {VISIBLE_VIDEO}"
    ),
    "list_videos": (
        f"SELECT {VIDEO_COLUMNS} FROM videos WHERE list_seq > %(after)s AND {{mine}}"
        f" AND {VISIBLE_VIDEO} AND {{condition}} ORDER BY list_seq LIMIT %(limit)s"
    ),
    "request": (
        "SELECT id, request_hash FROM operations"
        " WHERE principal = %(principal)s AND verb = %(verb)s AND request_id = %(request_id)s"
    ),
    # --- starting operations (a create runs fused: steps.CREATE_STATEMENT) ---
    "video_exists": "SELECT 1 FROM videos WHERE id = %(video)s",
    "insert_video": (
        "INSERT INTO videos (id, title, plot, state, create_time, update_time, principal)"
        " VALUES (%(video)s, %(title)s, %(plot)s, 'creating', %(now)s, %(now)s, %(principal)s)"
    ),
    "insert_operation": (
        "WITH writer AS MATERIALIZED (SELECT pg_current_xact_id())"
        " INSERT INTO operations (seq, id, verb, target, video_id, title, status_message,"
        " create_time, update_time, request_id, request_hash, principal)"
        " SELECT nextval('operation_numbers'), %(id)s, %(verb)s, %(target)s, %(video)s,"
        " %(title)s, %(message)s, %(now)s, %(now)s, %(request_id)s::text,"
        " %(request_hash)s::bytea, %(principal)s FROM writer"
        " ON CONFLICT (principal, verb, request_id) WHERE request_id IS NOT NULL DO NOTHING"
        " RETURNING seq"
    ),
    "insert_job": "INSERT INTO jobs (operation_seq, trace_parent) VALUES (%(seq)s, %(trace)s)",
    "lock_video": (
        "SELECT state, title FROM videos WHERE id = %(video)s AND principal = %(principal)s"
        " FOR UPDATE"
    ),
    "running_delete": (
        "SELECT id FROM operations WHERE verb = %(verb)s AND video_id = %(video)s AND NOT done"
    ),
    "mark_deleting": (
        "UPDATE videos SET state = 'deleting', update_time = %(now)s WHERE id = %(video)s"
    ),
    # --- settling a video ---
    "set_media": f"UPDATE videos SET {media_update(param)} WHERE id = %(video)s",
    "next_video_number": (
        "UPDATE counters SET value = value + 1 WHERE name = 'videos' RETURNING value"
    ),
    "activate_video": (
        "UPDATE videos SET state = 'active', create_time = %(now)s, update_time = %(now)s,"
        " list_seq = %(number)s WHERE id = %(video)s"
    ),
    "forget_creating": "DELETE FROM videos WHERE id = %(video)s AND state = 'creating'",
    "delete_video": "DELETE FROM videos WHERE id = %(video)s",
    "restore_video": (
        "UPDATE videos SET state = 'active' WHERE id = %(video)s AND state = 'deleting'"
    ),
    # --- finishing and steering ---
    "job_operation": "SELECT verb, video_id, id FROM operations WHERE seq = %(seq)s",
    "end_operation": (
        "UPDATE operations SET done = TRUE, end_time = %(now)s, update_time = %(now)s,"
        " response = %(response)s, error = %(error)s, error_code = %(code)s,"
        " status_message = %(message)s,"
        " progress_percent = CASE WHEN %(ok)s THEN 100 ELSE progress_percent END"
        " WHERE seq = %(seq)s RETURNING forgotten"
    ),
    "delete_job": "DELETE FROM jobs WHERE operation_seq = %(seq)s",
    "lock_job": "SELECT lease_expires, attempts FROM jobs WHERE operation_seq = %(seq)s FOR UPDATE",
    "lock_operation": "SELECT done, verb FROM operations WHERE seq = %(seq)s FOR UPDATE",
    "request_cancel": (
        "UPDATE operations SET cancel_requested = TRUE, update_time = %(now)s WHERE seq = %(seq)s"
    ),
    "delete_operation": "DELETE FROM operations WHERE id = %(id)s",
    "forget_operation": (
        "UPDATE operations SET forgotten = TRUE, update_time = %(now)s"
        " WHERE id = %(id)s AND NOT done"
    ),
    "remember_operation": "UPDATE operations SET forgotten = FALSE WHERE id = %(id)s AND forgotten",
    "expire": (
        "DELETE FROM operations WHERE seq IN (SELECT seq FROM operations WHERE done"
        " AND end_time < %(before)s ORDER BY end_time LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
    ),
    "keep_secret": (
        "INSERT INTO meta (key, value) VALUES ('page_token_secret', %(secret)s)"
        " ON CONFLICT (key) DO NOTHING"
    ),
    "secret": "SELECT value FROM meta WHERE key = 'page_token_secret'",
    # --- leases ---
    "next_job": (
        "SELECT operation_seq, attempts + 1, lease_owner, trace_parent FROM jobs"
        " WHERE lease_expires <= %(now)s AND not_before <= %(now)s"
        " ORDER BY operation_seq LIMIT 1 FOR UPDATE SKIP LOCKED"
    ),
    "lease_job": (
        "UPDATE jobs SET lease_owner = %(owner)s, lease_expires = %(until)s,"
        " attempts = %(attempts)s WHERE operation_seq = %(seq)s"
    ),
    "claimed_operation": (
        "UPDATE operations SET status_message = %(message)s, update_time = %(now)s"
        " WHERE seq = %(seq)s RETURNING id, verb, video_id, cancel_requested"
    ),
    "video_text": "SELECT title, plot FROM videos WHERE id = %(video)s",
    "leased": (
        "SELECT o.seq FROM operations o JOIN jobs j ON j.operation_seq = o.seq"
        " WHERE o.id = %(id)s AND j.lease_owner = %(owner)s FOR UPDATE OF j"
    ),
    "extend_lease": "UPDATE jobs SET lease_expires = %(until)s WHERE operation_seq = %(seq)s",
    "progress": (
        "UPDATE operations SET progress_percent = %(percent)s, status_message = %(message)s,"
        " update_time = %(now)s WHERE seq = %(seq)s RETURNING cancel_requested"
    ),
    "retry_later": (
        "UPDATE jobs SET lease_owner = NULL, lease_expires = 0, not_before = %(not_before)s"
        " WHERE operation_seq = %(seq)s"
    ),
    "status": (
        "UPDATE operations SET status_message = %(message)s, update_time = %(now)s"
        " WHERE seq = %(seq)s"
    ),
    "release": (
        "UPDATE jobs SET lease_owner = NULL, lease_expires = 0,"
        " attempts = GREATEST(attempts - 1, 0) WHERE operation_seq = %(seq)s"
    ),
}

POSTGRES = Dialect(QUERIES, param, true="TRUE")
