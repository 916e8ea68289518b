// The page: the caller's operations from /videos/tasks, each running one kept
// live by /videos/tasks/{task}/events (Server-Sent Events the gateway feeds
// from WaitOperation), read with fetch() because EventSource cannot send a
// token. The page itself never polls. Everything a caller typed is put in the
// page as text (textContent, append), never as markup.
"use strict";

(() => {
  const MAX_STREAMS = 4; // browsers allow 6 HTTP/1.1 connections per host: leave some free
  const RETRY_FIRST = 1000; // ms before reopening a stream that failed; doubles each time
  const RETRY_MAX = 30000; // ms
  const PAGE_SIZE = 50;
  const TOKEN_KEY = "longreel.token";

  const $ = (id) => document.getElementById(id);
  const rows = new Map(); // task id → Row
  const titles = new Map(); // "videos/x" → title, once known
  const waiting = []; // rows whose stream waits for a free connection
  let streams = 0;
  let nextPage = "";
  let session = new AbortController(); // aborted when the token changes: start afresh

  class ApiError extends Error {
    constructor(message, httpStatus) {
      super(message);
      this.httpStatus = httpStatus;
    }

    get retryable() {
      return this.httpStatus === 0 || this.httpStatus >= 500 || [408, 429].includes(this.httpStatus);
    }
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children); // strings become text nodes
    return node;
  }

  function statusError(error, httpStatus, fallback) {
    if (error && error.message) {
      return new ApiError(`${error.status || httpStatus}: ${error.message}`, httpStatus);
    }
    return new ApiError(`HTTP ${httpStatus} ${fallback}`.trim(), httpStatus);
  }

  async function call(method, path, body, signal = session.signal) {
    const headers = new Headers();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    const init = { method, headers, signal, cache: "no-store" };
    if (body !== undefined) {
      headers.set("Content-Type", "application/json");
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ApiError(`cannot reach the gateway (${error.message})`, 0);
    }
    if (response.ok) return response;
    let error = null;
    try {
      error = (await response.json()).error;
    } catch {
      // not JSON (a proxy's page): the HTTP status says what there is to say
    }
    throw statusError(error, response.status, response.statusText);
  }

  async function json(method, path, body) {
    const response = await call(method, path, body);
    return response.status === 204 ? null : response.json();
  }

  function showError(context, error) {
    if (error.name === "AbortError") return ""; // our own doing: the token changed
    const line = $("error");
    line.textContent = `${context}: ${error.message}`;
    line.hidden = false;
    return line.textContent;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  function announce(text) {
    $("announce").textContent = text;
  }

  // An RFC 3339 UTC time as comparable parts: protobuf gives 0, 3, 6 or 9
  // fractional digits, which neither Date nor string order compares rightly.
  function instant(iso) {
    const [whole, fraction = ""] = iso.replace(/Z$/, "").split(".");
    return [Date.parse(`${whole}Z`), fraction.padEnd(9, "0")];
  }

  function isOlder(task, than) {
    const [a, b] = [instant(task.updateTime), instant(than.updateTime)];
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  }

  function when(label, iso) {
    return [` · ${label} `, el("time", { datetime: iso }, new Date(iso).toLocaleString())];
  }

  // A media URL for <video>/<img>: the path itself, or with a token (which an
  // element cannot send) the file fetched with it, as a blob: URL.
  async function mediaUrl(path, row) {
    if (!sessionStorage.getItem(TOKEN_KEY)) return path;
    const blob = await (await call("GET", path)).blob();
    const url = URL.createObjectURL(blob);
    row.blobs.push(url);
    return url;
  }

  class Row {
    constructor(task) {
      this.id = task.id;
      this.task = null;
      this.actionsShown = "";
      this.video = null; // the created video, once read; false once deleted
      this.blobs = [];
      const headingId = `title-${this.id}`;
      this.heading = el("h3", { id: headingId, tabindex: "-1" });
      this.meta = el("p", { class: "meta" });
      this.progress = el("progress", { max: "100", value: "0", "aria-labelledby": headingId });
      this.percent = el("span", { class: "percent" });
      this.message = el("p", { class: "message" });
      this.actions = el("div", { class: "actions" });
      this.media = el("div", { class: "media" });
      this.node = el(
        "li",
        { class: "task", "data-task": this.id },
        this.heading,
        this.meta,
        el("div", { class: "bar" }, this.progress, this.percent),
        this.message,
        this.actions,
        this.media,
      );
      this.update(task);
    }

    get verb() {
      return this.task.verb;
    }

    get target() {
      return this.task.target;
    }

    label() {
      const title = titles.get(this.target);
      const what = title === undefined ? this.target : `“${title}”`;
      return this.verb === "delete" ? `Delete ${what}` : what;
    }

    update(task) {
      // Answers race: the stream's last event may land after the cancel
      // call's answer. An older state never replaces a newer one, and an
      // ended task never runs again.
      const ended = this.task && this.task.status !== "pending";
      if (this.task && (isOlder(task, this.task) || (ended && task.status === "pending"))) return;
      const before = this.task && this.task.status;
      this.task = task;
      this.heading.textContent = this.label();
      const status = el("span", { class: `status status-${task.status}` }, task.status);
      this.meta.replaceChildren(`${task.verb} · `, status, ...when("created", task.createTime));
      if (task.endTime) this.meta.append(...when("ended", task.endTime));
      const percent = task.progress.percent || 0;
      this.progress.value = percent;
      this.percent.textContent = `${percent}%`;
      this.message.textContent = task.error
        ? `${task.error.status}: ${task.error.message}`
        : task.progress.message || "";
      this.showActions();
      if (before && before !== task.status) announce(`${this.label()}: ${task.status}`);
      if (task.status === "done" && before !== "done") this.finished();
    }

    finished() {
      if (this.verb === "create" && this.video === null) {
        this.loadVideo().catch((error) => showError(`Reading ${this.label()}`, error));
      }
      if (this.verb === "delete") {
        for (const row of rows.values()) {
          if (row.verb === "create" && row.target === this.target) row.videoGone();
        }
      }
    }

    async loadVideo() {
      let video;
      try {
        video = await json("GET", `/${this.target}`);
      } catch (error) {
        if (error.httpStatus !== 404) throw error;
        this.videoGone();
        return;
      }
      this.video = video;
      titles.set(this.target, video.title);
      relabel();
      this.showActions();
      const parts = [];
      if (video.plot) parts.push(el("p", { class: "plot" }, video.plot));
      if (video.uri) {
        const player = el("video", {
          controls: "",
          preload: "none",
          playsinline: "",
          "aria-labelledby": this.heading.id,
        });
        player.poster = await mediaUrl(`/${this.target}/thumbnail`, this);
        player.src = await mediaUrl(`/${this.target}/content`, this);
        parts.push(player);
      }
      this.media.replaceChildren(...parts);
    }

    videoGone() {
      this.video = false;
      this.media.replaceChildren(el("p", { class: "hint" }, "The video has been deleted."));
      this.forgetBlobs();
      this.showActions();
    }

    forgetBlobs() {
      for (const url of this.blobs.splice(0)) URL.revokeObjectURL(url);
    }

    // Buttons are rebuilt only when the set changes, so focus stays put while
    // progress moves; when the focused one goes, focus moves to a neighbour.
    showActions() {
      const buttons = [];
      if (this.task.status === "pending") buttons.push(["Cancel", () => this.cancel()]);
      if (this.verb === "create" && this.video) {
        buttons.push(["Delete video", () => this.deleteVideo()]);
      }
      if (this.task.status !== "pending") {
        buttons.push(["Remove from list", () => this.remove()]);
      }
      const shown = buttons.map(([text]) => text).join("|");
      if (shown === this.actionsShown) return;
      this.actionsShown = shown;
      const hadFocus = this.actions.contains(document.activeElement);
      this.actions.replaceChildren(
        ...buttons.map(([text, action], index) => {
          const button = el("button", {
            type: "button",
            class: index ? "secondary" : "",
            "aria-describedby": this.heading.id,
          }, text);
          button.addEventListener("click", () => this.act(button, text, action));
          return button;
        }),
      );
      if (hadFocus) (this.actions.querySelector("button") || this.heading).focus();
    }

    async act(button, text, action) {
      clearError();
      button.disabled = true;
      try {
        await action();
      } catch (error) {
        showError(`${text}, ${this.label()}`, error);
      } finally {
        button.disabled = false;
      }
    }

    async cancel() {
      this.update(await json("POST", `/videos/tasks/${this.id}:cancel`));
    }

    async deleteVideo() {
      const task = await json("DELETE", `/${this.target}`);
      add(task, true);
      announce(`${rows.get(task.id).label()}: started`);
    }

    async remove() {
      await json("DELETE", `/videos/tasks/${this.id}`);
      this.forgetBlobs();
      this.node.remove();
      rows.delete(this.id);
      $("empty").hidden = rows.size > 0;
      $("tasks-heading").focus();
      announce(`${this.label()}: removed from the list`);
    }
  }

  function relabel() {
    for (const row of rows.values()) row.heading.textContent = row.label();
  }

  function add(task, atTop) {
    const existing = rows.get(task.id);
    if (existing) return existing;
    const row = new Row(task);
    rows.set(task.id, row);
    if (atTop) $("tasks").prepend(row.node);
    else $("tasks").append(row.node);
    $("empty").hidden = true;
    follow(row);
    return row;
  }

  function follow(row) {
    if (row.task.status !== "pending") return;
    waiting.push(row);
    startStreams();
  }

  function startStreams() {
    while (streams < MAX_STREAMS && waiting.length) {
      const row = waiting.shift();
      if (rows.get(row.id) === row) stream(row, session.signal);
    }
  }

  // Follow one task until it ends: a stream ends by itself after a minute
  // (the gateway's limit) and is reopened at once; a failed one after a
  // growing pause, unless the failure is for good (a 4xx).
  async function stream(row, signal) {
    streams += 1;
    let pause = RETRY_FIRST;
    let failure = "";
    const back = () => {
      if (failure && $("error").textContent === failure) clearError();
      failure = "";
    };
    try {
      while (!signal.aborted && row.task.status === "pending") {
        const opened = Date.now();
        try {
          await readEvents(row, signal, back);
          if (Date.now() - opened >= RETRY_FIRST) {
            pause = RETRY_FIRST;
            continue;
          }
        } catch (error) {
          if (signal.aborted) return;
          failure = showError(`Following ${row.label()}`, error);
          if (!error.retryable) return;
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, RETRY_MAX);
      }
    } finally {
      streams -= 1;
      startStreams();
    }
  }

  async function readEvents(row, signal, opened) {
    const response = await call("GET", `/videos/tasks/${row.id}/events`, undefined, signal);
    opened();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const message = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (message === null) continue; // a comment: the stream is alive
        if (message.event === "error") {
          const error = message.data.error;
          throw statusError(error, error.code, "");
        }
        row.update(message.data);
        if (message.event === "done") {
          reader.cancel();
          return;
        }
      }
    }
  }

  function parseEvent(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    return data.length ? { event, data: JSON.parse(data.join("\n")) } : null;
  }

  async function loadPage() {
    const query = new URLSearchParams({ pageSize: String(PAGE_SIZE) });
    if (nextPage) query.set("pageToken", nextPage);
    const page = await json("GET", `/videos/tasks?${query}`);
    for (const task of page.tasks) add(task, false);
    nextPage = page.nextPageToken || "";
    $("more").hidden = !nextPage;
    $("empty").hidden = rows.size > 0;
  }

  function start() {
    session.abort();
    session = new AbortController();
    for (const row of rows.values()) row.forgetBlobs();
    rows.clear();
    waiting.length = 0;
    nextPage = "";
    $("tasks").replaceChildren();
    clearError();
    loadPage().catch((error) => showError("Listing your operations", error));
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
      add(task, true);
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
    loadPage().catch((error) => showError("Listing more operations", error));
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useToken($("token").value.trim());
  });
  $("forget-token").addEventListener("click", () => useToken(""));
  start();
})();
