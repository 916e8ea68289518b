// One operation in the list. It stays light however long the list grows:
// its video's details are read only once the row comes into view, a plot
// shows a few lines until asked for all, and a finished video is its poster
// (a button) until played; one player exists at a time, in the row played last.

import { json, mediaUrl } from "./api.js";
import { announce, clearError, el, showError, when } from "./dom.js";

export const titles = new Map(); // "videos/x" → title, once known
let playing = null; // the row whose player is in the page

// Rows in view (or nearly) read their video; the others never do.
const sight = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      sight.unobserve(entry.target);
      const row = entry.target.row;
      row.loadVideo().catch((error) => showError(`Reading ${row.label()}`, error));
    }
  },
  { rootMargin: "400px 0px" },
);

// A plot's toggle shows only where the clamp hides something; measured for
// all new plots at once, in the next frame, so layout is computed once.
const unmeasured = new Set();
function measureLater(row) {
  if (!unmeasured.size) requestAnimationFrame(measure);
  unmeasured.add(row);
}
function measure() {
  for (const row of unmeasured) row.measurePlot();
  unmeasured.clear();
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

export class Row {
  // `list`: { rows, add(task, atTop), removed(row) }, the list this row is in.
  constructor(task, list) {
    this.id = task.id;
    this.list = list;
    this.listed = true; // false once removed, or the list started afresh
    this.task = null;
    this.actionsShown = "";
    this.video = null; // the created video, once read; false once deleted
    this.reading = null; // the read of the video, while it runs
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
    this.node.row = this;
    this.update(task);
  }

  get verb() {
    return this.task.verb;
  }

  get target() {
    return this.task.target;
  }

  label() {
    const title = this.task.title || titles.get(this.target);
    const what = title ? `“${title}”` : this.target;
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
    if (task.title) titles.set(task.target, task.title);
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
    if (this.verb === "create" && this.video === null) sight.observe(this.node);
    if (this.verb === "delete") {
      for (const row of this.list.rows.values()) {
        if (row.verb === "create" && row.target === this.target) row.videoGone();
      }
    }
  }

  loadVideo() {
    this.reading ??= this.readVideo().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  async readVideo() {
    let video;
    try {
      video = await json("GET", `/${this.target}`);
    } catch (error) {
      if (error.httpStatus !== 404) throw error;
      this.videoGone();
      return;
    }
    if (this.video === false || !this.listed) return; // deleted or dropped meanwhile
    this.video = video;
    titles.set(this.target, video.title);
    for (const row of this.list.rows.values()) row.heading.textContent = row.label();
    this.showActions();
    const parts = [];
    if (video.plot) parts.push(...this.plot(video.plot));
    if (video.uri) parts.push(await this.poster());
    this.media.replaceChildren(...parts);
    if (video.plot) measureLater(this);
  }

  plot(text) {
    this.plotText = el("p", { class: "plot clamped", id: `plot-${this.id}` }, text);
    this.toggle = el("button", {
      type: "button",
      class: "secondary toggle",
      "aria-expanded": "false",
      "aria-controls": this.plotText.id,
      "aria-describedby": this.heading.id,
    }, "Show more");
    this.toggle.addEventListener("click", () => {
      const open = this.plotText.classList.toggle("clamped") === false;
      this.toggle.setAttribute("aria-expanded", String(open));
      this.toggle.textContent = open ? "Show less" : "Show more";
    });
    return [this.plotText, this.toggle];
  }

  measurePlot() {
    const clamped = this.plotText && this.plotText.classList.contains("clamped");
    if (clamped) this.toggle.hidden = this.plotText.scrollHeight <= this.plotText.clientHeight;
  }

  // The poster: a button, so a keyboard plays it as a mouse does.
  async poster() {
    const image = el("img", { alt: "", width: "320", height: "180", loading: "lazy" });
    const url = await mediaUrl(`/${this.target}/thumbnail`, this.blobs);
    image.src = url;
    const button = el(
      "button",
      { type: "button", class: "poster", "aria-label": `Play ${this.label()}` },
      image,
      el("span", { class: "play", "aria-hidden": "true" }, "▶"),
    );
    button.addEventListener("click", () => {
      this.play(button, url).catch((error) => showError(`Playing ${this.label()}`, error));
    });
    return button;
  }

  async play(poster, posterUrl) {
    if (playing && playing !== this) playing.stopPlaying();
    playing = this;
    const player = el("video", {
      controls: "",
      autoplay: "",
      playsinline: "",
      "aria-labelledby": this.heading.id,
    });
    player.poster = posterUrl;
    player.src = await mediaUrl(`/${this.target}/content`, this.blobs);
    player.posterButton = poster;
    poster.replaceWith(player);
    player.focus();
  }

  // Back to the poster: the one player of the page moves to another row.
  stopPlaying() {
    const player = this.media.querySelector("video");
    if (player && player.posterButton) {
      player.pause();
      player.replaceWith(player.posterButton);
      player.removeAttribute("src");
      player.load(); // lets go of the media at once
    }
    if (playing === this) playing = null;
  }

  videoGone() {
    this.stopPlaying(); // a detached <video> could go on playing
    this.video = false;
    sight.unobserve(this.node);
    this.media.replaceChildren(el("p", { class: "hint" }, "The video has been deleted."));
    this.forgetBlobs();
    this.showActions();
  }

  forget() {
    this.listed = false;
    this.stopPlaying();
    sight.unobserve(this.node);
    unmeasured.delete(this);
    this.forgetBlobs();
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
    const row = this.list.add(task, true);
    announce(`${row.label()}: started`);
  }

  async remove() {
    await json("DELETE", `/videos/tasks/${this.id}`);
    this.forget();
    this.node.remove();
    this.list.removed(this);
    announce(`${this.label()}: removed from the list`);
  }
}
