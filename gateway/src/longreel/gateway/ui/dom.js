// The page's few DOM helpers, shared by its modules: building nodes (caller
// text always as text, never markup), the one error line and the live region.

export const $ = (id) => document.getElementById(id);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children); // strings become text nodes
  return node;
}

export function showError(context, error) {
  if (error.name === "AbortError") return ""; // our own doing: the token changed
  const line = $("error");
  line.textContent = `${context}: ${error.message}`;
  line.hidden = false;
  return line.textContent;
}

export function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

export function announce(text) {
  $("announce").textContent = text;
}

export function when(label, iso) {
  return [` · ${label} `, el("time", { datetime: iso }, new Date(iso).toLocaleString())];
}
