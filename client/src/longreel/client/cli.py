"""`videoctl`: the video service from a terminal, a thin layer over VideoClient,
shaped as gcloud users expect: `create` and `delete` wait (with a progress
bar, the operation's name printed first) unless `--async`; every command
answers with the state after it acted; errors name the flags.

Exit codes: 0 ok; 1 the call (or the operation waited for) failed, with one
line on stderr naming the status; 2 bad usage; 130 interrupted (but a watch
ends with Ctrl-C: 0).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

from google.api_core import exceptions
from google.longrunning import operations_pb2
from google.rpc import code_pb2

from longreel.common import numbers
from longreel.common.api_names import ORDER_BY_KEY
from longreel.common.flags import add_flag

from . import _cli_errors, _core, _output, _rows
from ._follow import follow
from ._output import Format, Output
from .sync import VideoClient

WATCH_LIMIT = 20  # operations a watch shows when not told
LIST_PAGE = 1000  # operations a page at most (the server's most)
NEWEST_FIRST = "create_time desc"  # ORDER_BY_KEY's value for the latest first
CANCEL_SETTLE = 2.0  # seconds to let a worker notice a cancel before answering
CLI_TIMEOUT = 10.0  # seconds; a person at a terminal should not wait a minute to learn of a typo
MAX_TIMEOUT = 86400.0  # seconds; past a day is a typo
WAITS = (
    "Prints the operation's name first, then waits for it with a progress bar and ends "
    "with what it did. Ctrl-C stops waiting (the operation goes on: videoctl operations "
    "wait NAME) or, if you say so, cancels it. --async returns at once."
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="videoctl", description="Create, watch and manage videos and their operations."
    )
    add_flag(
        top, "--target", env="VIDEO_TARGET", type=numbers.host_port,
        default=_core.DEFAULT_TARGET, help="HOST:PORT of the video-server (default: %(default)s)",
    )  # fmt: skip
    add_flag(top, "--token", env="VIDEO_TOKEN",
             help="bearer token for a server that authenticates callers")  # fmt: skip
    top.add_argument("--tls", action="store_true", help="speak TLS, trusting the system's CAs")
    add_flag(top, "--tls-ca", env="VIDEO_TLS_CA", type=Path, metavar="FILE",
             help="speak TLS, trusting the PEM CAs in FILE")  # fmt: skip
    top.add_argument(
        "--tls-cert", type=Path, metavar="FILE", help="client certificate (mutual TLS)"
    )
    top.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key")
    top.add_argument("--output", "-o", choices=["table", "json"], default="table",
                     help="table (default) or json; --format says more")  # fmt: skip
    top.add_argument(
        "--format",
        type=_output.format_flag,
        metavar="FORMAT",
        help=f"{_output.FORMATS}, as gcloud's: FIELD is a dotted field of the resource's "
        "JSON, e.g. value(name,metadata.progressPercent) (snake_case works too)",
    )
    top.add_argument(
        "--timeout",
        type=numbers.float_flag(0, MAX_TIMEOUT, above=True),
        default=CLI_TIMEOUT,
        help="seconds a call may take, retries included (default: %(default)s). A server "
        "that never answered is not retried: nothing listening fails at once",
    )
    verbs = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = verbs.add_parser(
        "create", help="create a video, waiting for it unless --async", description=WAITS
    )
    create.add_argument("--title", required=True)
    create.add_argument("--plot", default="")
    create.add_argument("--id", dest="video_id", help="the video's id (the server picks one)")
    create.add_argument("--request-id", help="idempotency key (default: a fresh UUID)")
    _wait_flags(create)

    verbs.add_parser("get", help="show a video").add_argument("video")
    videos = verbs.add_parser("list", help="list videos, in the order they came into existence")
    videos.add_argument(
        "--filter", default="", help="AIP-160 on title and create_time, e.g. 'title = \"My movie\"'"
    )
    delete = verbs.add_parser(
        "delete", help="delete a video, waiting for it unless --async", description=WAITS
    )
    delete.add_argument("video")
    delete.add_argument("--request-id", help="idempotency key (default: a fresh UUID)")
    _wait_flags(delete)

    ops = verbs.add_parser("operations", aliases=["ops"], help="list and steer operations")
    op_verbs = ops.add_subparsers(dest="op_command", required=True, metavar="OP_COMMAND")
    _list_flags(op_verbs.add_parser("list", help="list operations, newest first, or watch them"))
    op_verbs.add_parser("get", help="show an operation").add_argument("operation")
    op_verbs.add_parser(
        "cancel", help="cancel an operation, and show it once the cancel took effect"
    ).add_argument("operation")
    op_verbs.add_parser(
        "delete", help="forget an operation (one still running runs on, out of sight)"
    ).add_argument("operation")
    wait = op_verbs.add_parser("wait", help="wait for an operation, showing progress")
    wait.add_argument("operation")
    wait.add_argument("--cancel-on-interrupt", action="store_true")
    return top


def _list_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--filter", default="", help='AIP-160, e.g. "done = false"')
    command.add_argument(
        "--limit",
        type=numbers.int_flag(1, 2**31 - 1),
        metavar="N",
        help="the N newest operations (default: all; with --watch, "
        f"{WATCH_LIMIT}). videoctl asks the server for the latest first (order_by "
        f"{NEWEST_FIRST!r}), so it reads N, not the whole history",
    )
    command.add_argument(
        "--watch",
        "-w",
        action="store_true",
        help="keep watching until Ctrl-C: unfinished operations and new ones, newest first. "
        "Each unfinished one is long-polled (WaitOperation) a second at a time, so a finish "
        "shows at once and progress about once a second; new operations show within "
        "seconds. A live table on a terminal; otherwise (or with -o json) a line, "
        "or a JSON object, per change",
    )


def _wait_flags(command: argparse.ArgumentParser) -> None:
    how = command.add_mutually_exclusive_group()
    how.add_argument(
        "--async",
        dest="run_async",
        action="store_true",
        help="return at once with the operation, instead of waiting for it "
        "(then: videoctl operations wait NAME)",
    )
    how.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)  # the default now
    command.add_argument(
        "--cancel-on-interrupt",
        action="store_true",
        help="cancel the operation on Ctrl-C without asking",
    )


def main(argv: Sequence[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    credentials = None
    if args.tls or args.tls_ca or args.tls_cert or args.tls_key:
        try:
            credentials = _core.tls_credentials(args.tls_ca, args.tls_cert, args.tls_key)
        except (OSError, ValueError) as exc:
            command.error(f"TLS: {getattr(exc, 'strerror', None) or exc}")
    try:
        _core.refuse_plaintext_token(args.target, args.token, credentials is not None)
    except ValueError as exc:
        command.error(f"{exc} (--tls or --tls-ca)")
    form = args.format or Format(args.output)
    if getattr(args, "watch", False) and form.kind not in ("table", "json"):
        command.error("--watch shows a table, or JSON lines with --format json")
    if form.kind == "yaml" and importlib.util.find_spec("yaml") is None:
        command.error("--format yaml needs PyYAML: pip install 'longreel-client[cli]'")
    args.output = "json" if form.kind == "json" else "table"  # what the watch reads
    contact = _cli_errors.Contact()
    try:
        with VideoClient(
            args.target,
            credentials=credentials,
            token=args.token,
            timeout=args.timeout,
            retry=_cli_errors.fail_fast_retry(contact, args.timeout),
        ) as client:
            return run(client, args, Output(form, sys.stdout))
    except exceptions.ServiceUnavailable as error:
        line = _cli_errors.failure(error) if contact.answered else _unreachable(args, error)
        return _failed(line)
    except exceptions.GoogleAPICallError as error:
        return _failed(_cli_errors.failure(error, _names(args)))
    except exceptions.RetryError as error:
        cause = getattr(error.cause, "message", None) or error.cause
        return _failed(
            f"UNAVAILABLE: cannot reach {args.target} within {args.timeout:g} s: {cause}"
        )


def _unreachable(args: argparse.Namespace, error: exceptions.GoogleAPICallError) -> str:
    return _cli_errors.unreachable(args.target, error)


def _failed(line: str) -> int:
    print(f"videoctl: {line}", file=sys.stderr)
    return 1


def _names(args: argparse.Namespace) -> dict[str, str]:
    """The flags, and the positional argument that sets `name`."""
    positional = "OPERATION" if args.command in ("operations", "ops") else "VIDEO"
    return {**_cli_errors.FLAGS, "name": positional}


def run(client: VideoClient, args: argparse.Namespace, out: Output) -> int:
    if args.command == "create":
        video = {"title": args.title, "plot": args.plot}
        request = {
            "video": video,
            "video_id": args.video_id or "",
            "request_id": args.request_id or "",
        }
        op = client.create_video(request=request).operation
        return started(client, op, args, out)
    if args.command == "get":
        return out.videos([client.get_video(name=args.video)], single=True)
    if args.command == "list":
        return out.videos(client.list_videos(request={"filter": args.filter}))
    if args.command == "delete":
        request = {"name": _core.video_name(args.video), "request_id": args.request_id or ""}
        op = client.delete_video(request=request).operation
        return started(client, op, args, out)
    name = _core.operation_name(getattr(args, "operation", ""))
    if args.op_command == "list":
        return list_operations(client, args, out)
    if args.op_command == "get":
        return out.operations([client.get_operation(name=name)], single=True)
    if args.op_command == "cancel":
        return cancel(client, name, out)
    if args.op_command == "delete":
        client.delete_operation(name=name)
        print(f"Deleted operation [{name}].", file=sys.stderr)
        return 0
    op = client.get_operation(name=name)
    return follow(client, op, out, cancel_on_interrupt=args.cancel_on_interrupt)


def started(
    client: VideoClient, op: operations_pb2.Operation, args: argparse.Namespace, out: Output
) -> int:
    """Wait for a new operation (its name first), or with --async show it
    and say how to wait for it."""
    if not args.run_async:
        return follow(client, op, out, cancel_on_interrupt=args.cancel_on_interrupt)
    out.operations([op], single=True)
    print(f"Check its progress with: videoctl operations wait {op.name}", file=sys.stderr)
    return 0


def cancel(client: VideoClient, name: str, out: Output) -> int:
    """Ask, then show the operation once the cancel took effect. A job no
    worker holds ends at once; a running one ends when its worker notices,
    so the answer may still be RUNNING after CANCEL_SETTLE seconds. A done
    operation's result stands: that is said, not asked."""
    op = client.get_operation(name=name)
    if not op.done:
        client.cancel_operation(name=name)
        op = client.wait_operation(name=name, timeout=CANCEL_SETTLE)
        if op.done and op.error.code == code_pb2.CANCELLED:
            print(f"Cancelled operation [{name}].", file=sys.stderr)
            return out.operations([op], single=True)
    if not op.done:
        note = f"Cancellation requested for [{name}]; it is still running."
    else:
        note = f"Operation [{name}] had already finished ({_rows.state(op)}); nothing to cancel."
    print(note, file=sys.stderr)
    return out.operations([op], single=True)


def list_operations(client: VideoClient, args: argparse.Namespace, out: Output) -> int:
    if args.watch:
        from . import watch  # rich takes ~80 ms to import, and only the watch draws with it

        view = watch.view_for(args.output, sys.stdout)
        return watch.watch(client, args.filter, args.limit or WATCH_LIMIT, view)
    # The server pages from the latest down, so --limit N reads N, not all.
    size = min(args.limit or LIST_PAGE, LIST_PAGE)
    request = {"filter": args.filter, "page_size": size}
    found = client.list_operations(request=request, metadata=[(ORDER_BY_KEY, NEWEST_FIRST)])
    return out.operations(itertools.islice(found, args.limit))


if __name__ == "__main__":
    from ._launch import main as launch

    launch()
