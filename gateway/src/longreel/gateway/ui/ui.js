// The page: the caller's operations from /videos/tasks, newest first, a page
// at a time (the next one on "More", or when the list's end scrolls into
// view), each running one kept live by its event stream (streams.js).
// Everything a caller typed is put in the page as text, never as markup.

import { json, restart, TOKEN_KEY } from "./api.js";
import { $, announce, clearError, showError } from "./dom.js";
import { Row, titles } from "./row.js";
import { follow, forgetWaiting } from "./streams.js";

const PAGE_SIZE = 50;
// performance.mark()s the browser test reads: the first page in the DOM, and
// painted (the task after the frame that drew it).
const SHOWN = "longreel:first-page-shown";
const PAINTED = "longreel:first-page-painted";

const rows = new Map(); // task id → Row
let nextPage = "";
let loading = null; // the page being read, so a scroll and a click read it once
let pagesRead = 0;

const list = {
  rows,
  add(task, atTop) {
    const existing = rows.get(task.id);
    if (existing) return existing;
    const row = new Row(task, list);
    rows.set(task.id, row);
    if (atTop) $("tasks").prepend(row.node);
    else $("tasks").append(row.node);
    $("empty").hidden = true;
    follow(row);
    return row;
  },
  removed(row) {
    rows.delete(row.id);
    $("empty").hidden = rows.size > 0;
    $("tasks-heading").focus();
  },
};

async function readPage() {
  const query = new URLSearchParams({ pageSize: String(PAGE_SIZE), orderBy: "createTime desc" });
  if (nextPage) query.set("pageToken", nextPage);
  const page = await json("GET", `/videos/tasks?${query}`);
  const fragment = document.createDocumentFragment();
  for (const task of page.tasks) {
    if (rows.has(task.id)) continue;
    const row = new Row(task, list);
    rows.set(task.id, row);
    fragment.append(row.node);
    follow(row);
  }
  $("tasks").append(fragment); // one insertion, one layout
  nextPage = page.nextPageToken || "";
  $("more").hidden = !nextPage;
  $("empty").hidden = rows.size > 0;
  pagesRead += 1;
  // Observed afresh, the end reports whether it is still in view: a page too
  // short to push it away reads the next one too.
  end.unobserve($("more"));
  end.observe($("more"));
  if (pagesRead === 1) {
    performance.mark(SHOWN);
    requestAnimationFrame(() => setTimeout(() => performance.mark(PAINTED)));
  }
}

function loadPage(context) {
  loading ??= readPage()
    .catch((error) => showError(context, error))
    .finally(() => {
      loading = null;
    });
  return loading;
}

// The list's end in view (or nearly) reads the next page, as "More" does.
const end = new IntersectionObserver(
  (entries) => {
    if (entries.some((entry) => entry.isIntersecting) && nextPage && !loading) {
      loadPage("Listing more operations");
    }
  },
  { rootMargin: "200px 0px" },
);

function start() {
  restart();
  for (const row of rows.values()) row.forget();
  rows.clear();
  forgetWaiting();
  nextPage = "";
  pagesRead = 0;
  $("tasks").replaceChildren();
  clearError();
  loadPage("Listing your operations");
}

async function create(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  const title = $("title").value;
  clearError();
  button.disabled = true;
  try {
    const task = await json("POST", "/videos/tasks", { title, plot: $("plot").value });
    titles.set(task.target, title);
    list.add(task, true);
    form.reset();
    announce(`“${title}”: started`);
  } catch (error) {
    showError("Creating the video", error);
  } finally {
    button.disabled = false;
  }
}

function useToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  $("token").value = "";
  start();
}

$("create").addEventListener("submit", create);
$("more").addEventListener("click", () => {
  clearError();
  loadPage("Listing more operations");
});
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  useToken($("token").value.trim());
});
$("forget-token").addEventListener("click", () => useToken(""));
end.observe($("more"));
start();
