// Each running task kept live by /videos/tasks/{task}/events: Server-Sent
// Events the gateway feeds from WaitOperation, read with fetch() because
// EventSource cannot send a token. The page itself never polls.

import { call, signal, statusError } from "./api.js";
import { $, clearError, showError } from "./dom.js";

const MAX_STREAMS = 4; // browsers allow 6 HTTP/1.1 connections per host: leave some free
const RETRY_FIRST = 1000; // ms before reopening a stream that failed; doubles each time
const RETRY_MAX = 30000; // ms

const waiting = []; // rows whose stream waits for a free connection
let streams = 0;

export function follow(row) {
  if (row.task.status !== "pending") return;
  waiting.push(row);
  startStreams();
}

export function forgetWaiting() {
  waiting.length = 0;
}

function startStreams() {
  while (streams < MAX_STREAMS && waiting.length) {
    const row = waiting.shift();
    if (row.listed) stream(row, signal());
  }
}

// Follow one task until it ends: a stream ends by itself after a minute
// (the gateway's limit) and is reopened at once; a failed one after a
// growing pause, unless the failure is for good (a 4xx).
async function stream(row, abort) {
  streams += 1;
  let pause = RETRY_FIRST;
  let failure = "";
  const back = () => {
    if (failure && $("error").textContent === failure) clearError();
    failure = "";
  };
  try {
    while (!abort.aborted && row.listed && row.task.status === "pending") {
      const opened = Date.now();
      try {
        await readEvents(row, abort, back);
        if (Date.now() - opened >= RETRY_FIRST) {
          pause = RETRY_FIRST;
          continue;
        }
      } catch (error) {
        if (abort.aborted) return;
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

async function readEvents(row, abort, opened) {
  const response = await call("GET", `/videos/tasks/${row.id}/events`, undefined, abort);
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
