"""SQLite's SQL: the named queries the store's rules (../rules.py) ask for.

One writer thread holds the database's write lock for a whole transaction,
so nothing here locks rows: reads inside a write see no concurrent change.
Flags are 0 and 1. Parameters are named (`:name`); `{mine}` and `{condition}`
are filled in by the rules (a caller's scope, a parsed filter).
"""

from __future__ import annotations

from ..columns import OPERATION_COLUMNS, VIDEO_COLUMNS, VISIBLE_VIDEO, media_update
from ..dialect import Dialect


def param(name: str) -> str:
    return f":{name}"


QUERIES = {
    # --- reading ---
    "operation": f"SELECT {OPERATION_COLUMNS} FROM operations WHERE id = :id AND {{mine}}",
    "operation_seq": "SELECT seq FROM operations WHERE id = :id AND {mine}",
    "list_operations": (
        f"SELECT {OPERATION_COLUMNS} FROM operations"
        " WHERE {after} AND {mine} AND {condition} ORDER BY {order} LIMIT :limit"
    ),
    "video": (
        f"SELECT {VIDEO_COLUMNS} FROM videos WHERE id = :video AND {{mine}} AND {VISIBLE_VIDEO}"
    ),
    "list_videos": (
        f"SELECT {VIDEO_COLUMNS} FROM videos WHERE list_seq > :after AND {{mine}}"
        f" AND {VISIBLE_VIDEO} AND {{condition}} ORDER BY list_seq LIMIT :limit"
    ),
    "request": (
        "SELECT id, request_hash FROM operations"
        " WHERE principal = :principal AND verb = :verb AND request_id = :request_id"
    ),
    # --- starting operations ---
    "video_exists": "SELECT 1 FROM videos WHERE id = :video",
    "insert_video": (
        "INSERT INTO videos (id, title, plot, state, create_time, update_time, principal)"
        " VALUES (:video, :title, :plot, 'creating', :now, :now, :principal)"
    ),
    "insert_operation": (
        "INSERT INTO operations (id, verb, target, video_id, title, status_message,"
        " create_time, update_time, request_id, request_hash, principal)"
        " VALUES (:id, :verb, :target, :video, :title, :message, :now, :now, :request_id,"
        " :request_hash, :principal) RETURNING seq"
    ),
    "insert_job": "INSERT INTO jobs (operation_seq, trace_parent) VALUES (:seq, :trace)",
    "lock_video": "SELECT state, title FROM videos WHERE id = :video AND principal = :principal",
    "running_delete": (
        "SELECT id FROM operations WHERE verb = :verb AND video_id = :video AND done = 0"
    ),
    "mark_deleting": "UPDATE videos SET state = 'deleting', update_time = :now WHERE id = :video",
    # --- settling a video ---
    "set_media": f"UPDATE videos SET {media_update(param)} WHERE id = :video",
    "next_video_number": (
        "INSERT INTO meta (key, value) VALUES ('video_list_seq', 1)"
        " ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value"
    ),
    "activate_video": (
        "UPDATE videos SET state = 'active', create_time = :now, update_time = :now,"
        " list_seq = :number WHERE id = :video"
    ),
    "forget_creating": "DELETE FROM videos WHERE id = :video AND state = 'creating'",
    "delete_video": "DELETE FROM videos WHERE id = :video",
    "restore_video": "UPDATE videos SET state = 'active' WHERE id = :video AND state = 'deleting'",
    # --- finishing and steering ---
    "job_operation": "SELECT verb, video_id, id FROM operations WHERE seq = :seq",
    "end_operation": (
        "UPDATE operations SET done = 1, end_time = :now, update_time = :now,"
        " response = :response, error = :error, error_code = :code, status_message = :message,"
        " progress_percent = CASE WHEN :ok THEN 100 ELSE progress_percent END WHERE seq = :seq"
        " RETURNING forgotten"
    ),
    "delete_job": "DELETE FROM jobs WHERE operation_seq = :seq",
    "lock_job": "SELECT lease_expires, attempts FROM jobs WHERE operation_seq = :seq",
    "lock_operation": "SELECT done, verb FROM operations WHERE seq = :seq",
    "request_cancel": (
        "UPDATE operations SET cancel_requested = 1, update_time = :now WHERE seq = :seq"
    ),
    "delete_operation": "DELETE FROM operations WHERE id = :id",
    "forget_operation": (
        "UPDATE operations SET forgotten = 1, update_time = :now WHERE id = :id AND done = 0"
    ),
    "remember_operation": "UPDATE operations SET forgotten = 0 WHERE id = :id AND forgotten = 1",
    "expire": (
        "DELETE FROM operations WHERE seq IN (SELECT seq FROM operations"
        " WHERE done = 1 AND end_time < :before ORDER BY end_time LIMIT :limit)"
    ),
    "keep_secret": (
        "INSERT INTO meta (key, value) VALUES ('page_token_secret', :secret)"
        " ON CONFLICT (key) DO NOTHING"
    ),
    "secret": "SELECT value FROM meta WHERE key = 'page_token_secret'",
    # --- leases ---
    "next_job": (
        "SELECT j.operation_seq, j.attempts + 1, j.lease_owner, j.trace_parent FROM jobs j"
        " WHERE j.lease_expires <= :now AND j.not_before <= :now"
        " ORDER BY j.operation_seq LIMIT 1"
    ),
    "lease_job": (
        "UPDATE jobs SET lease_owner = :owner, lease_expires = :until, attempts = :attempts"
        " WHERE operation_seq = :seq"
    ),
    "claimed_operation": (
        "UPDATE operations SET status_message = :message, update_time = :now WHERE seq = :seq"
        " RETURNING id, verb, video_id, cancel_requested"
    ),
    "video_text": "SELECT title, plot FROM videos WHERE id = :video",
    "leased": (
        "SELECT o.seq FROM operations o JOIN jobs j ON j.operation_seq = o.seq"
        " WHERE o.id = :id AND j.lease_owner = :owner"
    ),
    "extend_lease": "UPDATE jobs SET lease_expires = :until WHERE operation_seq = :seq",
    "progress": (
        "UPDATE operations SET progress_percent = :percent, status_message = :message,"
        " update_time = :now WHERE seq = :seq RETURNING cancel_requested"
    ),
    "retry_later": (
        "UPDATE jobs SET lease_owner = NULL, lease_expires = 0, not_before = :not_before"
        " WHERE operation_seq = :seq"
    ),
    "status": (
        "UPDATE operations SET status_message = :message, update_time = :now WHERE seq = :seq"
    ),
    "release": (
        "UPDATE jobs SET lease_owner = NULL, lease_expires = 0,"
        " attempts = MAX(attempts - 1, 0) WHERE operation_seq = :seq"
    ),
}

SQLITE = Dialect(QUERIES, param, true="1 = 1")
