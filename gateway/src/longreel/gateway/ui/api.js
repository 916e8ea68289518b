// The REST API as the page calls it: one fetch() wrapper that sends the
// tab's token and turns the API's error body into one readable line.

export const TOKEN_KEY = "longreel.token";

let session = new AbortController(); // aborted when the token changes: start afresh

export function signal() {
  return session.signal;
}

export function restart() {
  session.abort();
  session = new AbortController();
}

export class ApiError extends Error {
  constructor(message, httpStatus) {
    super(message);
    this.httpStatus = httpStatus;
  }

  get retryable() {
    return this.httpStatus === 0 || this.httpStatus >= 500 || [408, 429].includes(this.httpStatus);
  }
}

export function statusError(error, httpStatus, fallback) {
  if (error && error.message) {
    return new ApiError(`${error.status || httpStatus}: ${error.message}`, httpStatus);
  }
  return new ApiError(`HTTP ${httpStatus} ${fallback}`.trim(), httpStatus);
}

export async function call(method, path, body, abort = session.signal) {
  const headers = new Headers();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const init = { method, headers, signal: abort, cache: "no-store" };
  if (body !== undefined) {
    headers.set("Content-Type", "application/json");
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (abort.aborted) throw error;
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

export async function json(method, path, body) {
  const response = await call(method, path, body);
  return response.status === 204 ? null : response.json();
}

// A media URL for <video>/<img>: the path itself, or with a token (which an
// element cannot send) the file fetched with it, as a blob: URL that `blobs`
// keeps so its owner can let it go.
export async function mediaUrl(path, blobs) {
  if (!sessionStorage.getItem(TOKEN_KEY)) return path;
  const blob = await (await call("GET", path)).blob();
  const url = URL.createObjectURL(blob);
  blobs.push(url);
  return url;
}
