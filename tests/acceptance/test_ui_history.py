"""The web page with a long history: 1,000 operations, newest first, a page at
a time, plots clamped, posters until played; and what it costs the browser.

The figures (time to the first page painted, heap, DOM nodes) are printed and
written to tests/artifacts/ui-history.json, never asserted: a shared machine's
timing says nothing reliable. What is asserted is the structure that keeps
the page cheap: one page of rows at first, no player before a click.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from typing import Any

import pytest
from google.longrunning import operations_pb2
from playwright.sync_api import expect

from longreel.server.media import Media, MediaFiles
from longreel.server.processor import (
    Profile,
    Progress,
    RenderingProcessor,
    SimulatedProcessor,
    VideoSpec,
)
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import until, wait
from .conftest import ARTIFACTS, WAIT

OPERATIONS = 1_000
RENDERED = 3  # the newest few are real videos, with posters; the rest are simulated
PAGE = 50  # the page's PAGE_SIZE (ui.js)
BATCH = 200  # creates in flight at once
LONG_PLOT = "A storm that will not end. " * 370  # 10,000 characters or so
TINY = Profile(width=160, height=90, fps=4, seconds=1.0)  # quick real renders
SHOWN = "longreel:first-page-painted"  # ui.js marks it once the first page is drawn


class MostlySimulated:
    """Videos titled "Rendered ..." are rendered for real, the others simulated in
    a few milliseconds: 1,000 operations in seconds, and a few posters to show."""

    def __init__(self, media: MediaFiles) -> None:
        self.real = RenderingProcessor(media, TINY)
        self.quick = SimulatedProcessor(0.01)

    async def create(self, video: VideoSpec, progress: Progress) -> Media | None:
        if video.title.startswith("Rendered"):
            return await self.real.create(video, progress)
        await self.quick.create(video, progress)
        return None

    async def delete(self, video_id: str, progress: Progress) -> None:
        await self.real.delete(video_id, progress)


def seed(api: Any) -> list[str]:
    """OPERATIONS creates, BATCH at a time over one channel; their names, oldest first."""
    names: list[str] = []
    for start in range(0, OPERATIONS - RENDERED, BATCH):
        calls: list[Future[Any]] = []
        for i in range(start, min(start + BATCH, OPERATIONS - RENDERED)):
            plot = LONG_PLOT if i % 10 == 0 else f"Plot {i}"
            request = pb.CreateVideoRequest(video=pb.Video(title=f"Film {i:04}", plot=plot))
            calls.append(api.videos.CreateVideo.future(request, timeout=60))
        names += [call.result().name for call in calls]
    for i in range(RENDERED):  # one at a time: their order is the list's
        plot = LONG_PLOT if i == RENDERED - 1 else f"Rendered plot {i}"
        request = pb.CreateVideoRequest(video=pb.Video(title=f"Rendered {i}", plot=plot))
        names.append(api.videos.CreateVideo(request, timeout=60).name)
    return names


def made_order(api: Any) -> list[str]:
    """Every operation's id in the order the server made them (its default list
    order): creates sent at once are numbered as they arrive, not as sent."""
    ids, token = [], ""
    while True:
        page = api.operations.ListOperations(
            operations_pb2.ListOperationsRequest(page_size=1000, page_token=token)
        )
        ids += [op.name.split("/", 1)[1] for op in page.operations]
        if not (token := page.next_page_token):
            return ids


def all_done(api: Any) -> bool:
    request = operations_pb2.ListOperationsRequest(filter="done = false", page_size=1)
    return not api.operations.ListOperations(request).operations


def figures(ui: Any, cdp: Any) -> dict[str, Any]:
    """What the page costs now: heap (two ways), DOM nodes, rows."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page = ui.page.evaluate(
        """() => ({
            usedJSHeapSize: performance.memory.usedJSHeapSize,
            domElements: document.getElementsByTagName("*").length,
            rows: document.querySelectorAll("li.task").length,
            videos: document.querySelectorAll("video").length,
        })"""
    )
    return {**page, "cdpJSHeapUsedSize": metrics["JSHeapUsedSize"], "cdpNodes": metrics["Nodes"]}


@pytest.fixture
def history(start_server, start_gateway, tmp_path):
    """A gateway on a server holding OPERATIONS finished operations; their ids
    in the order they were made."""
    media = MediaFiles(tmp_path / "media")
    api = start_server(MostlySimulated(media), media_dir=media.folder, workers=4)
    names = seed(api)
    for name in names[-RENDERED:]:
        wait(api, name, 60)
    until(lambda: all_done(api), 120, "every seeded operation done")
    made = made_order(api)
    assert sorted(made) == sorted(name.split("/", 1)[1] for name in names)
    return start_gateway(api), made


def test_a_thousand_operations_list_newest_first_a_page_at_a_time(history, open_ui):
    http, made = history
    newest = made[::-1]
    ui = open_ui(f"{http.url}/ui")
    ui.page.wait_for_function(
        "name => performance.getEntriesByName(name).length > 0", arg=SHOWN, timeout=WAIT
    )
    cdp = ui.page.context.new_cdp_session(ui.page)
    cdp.send("Performance.enable")
    rows = ui.page.locator("li.task")
    first = ui.row("Rendered 2")
    expect(first.get_by_role("button", name="Play “Rendered 2”")).to_be_visible(timeout=WAIT)
    shown = {
        "firstPagePaintedMs": ui.page.evaluate(
            f"performance.getEntriesByName({SHOWN!r})[0].startTime"
        ),
        "firstContentfulPaintMs": ui.page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
        ),
        **figures(ui, cdp),
    }
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.task)") == newest[:PAGE]
    assert shown["rows"] == PAGE and shown["videos"] == 0  # one page; posters, no players
    expect(ui.page.get_by_role("button", name="More operations")).to_be_visible()
    ui.screenshot("ui-history.png")

    plot = first.locator(".plot")
    toggle = first.get_by_role("button", name="Show more")
    clamped = plot.evaluate("p => p.clientHeight")
    assert plot.evaluate("p => p.scrollHeight") > 3 * clamped  # 10,000 characters, a few lines
    toggle.click()
    expect(first.get_by_role("button", name="Show less")).to_have_attribute("aria-expanded", "true")
    assert plot.evaluate("p => p.clientHeight") > 3 * clamped
    first.get_by_role("button", name="Show less").click()
    assert plot.evaluate("p => p.clientHeight") == clamped

    first.get_by_role("button", name="Play “Rendered 2”").click()
    expect(ui.page.locator("video")).to_have_count(1)
    ui.row("Rendered 1").get_by_role("button", name="Play “Rendered 1”").click()
    expect(ui.row("Rendered 1").locator("video")).to_have_count(1)
    expect(ui.page.locator("video")).to_have_count(1)  # the first went back to its poster
    expect(first.get_by_role("button", name="Play “Rendered 2”")).to_be_visible()

    ui.page.get_by_role("button", name="More operations").click()
    expect(rows).to_have_count(2 * PAGE, timeout=WAIT)
    ui.page.locator("#more").scroll_into_view_if_needed()  # the end in view reads on
    expect(rows).to_have_count(3 * PAGE, timeout=WAIT)
    while ui.page.locator("#more").is_visible():
        count = rows.count()
        ui.page.get_by_role("button", name="More operations").click()
        expect(rows).not_to_have_count(count, timeout=WAIT)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.task)") == newest
    listed = figures(ui, cdp)
    assert listed["videos"] == 1
    record = {"operations": OPERATIONS, "firstPage": shown, "allListed": listed}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ui-history.json").write_text(json.dumps(record, indent=2))
    print(f"\nui-history: {json.dumps(record)}")
    assert ui.problems == []
