// Shared helpers for every page: the JSON API with its CSRF header, small
// formatters, a toast, and the "no worker" banner.

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** fetch() for our JSON API: sends the CSRF token, throws ApiError with the server's words. */
export async function api(url, { method = "GET", json, body, headers = {}, signal } = {}) {
  const opts = { method, headers: { Accept: "application/json", ...headers }, signal, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") opts.headers["X-CSRF-Token"] = csrf();
  if (json !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(json);
  } else if (body !== undefined) {
    opts.body = body;
  }
  const resp = await fetch(url, opts);
  let data = null;
  const type = resp.headers.get("Content-Type") || "";
  if (type.includes("application/json")) data = await resp.json();
  if (resp.status === 401) {
    window.location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }
  if (!resp.ok) throw new ApiError((data && data.error) || `The server answered ${resp.status}.`, resp.status, data);
  return data;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const fmtInt = (n) => (n ?? 0).toLocaleString("en-US");

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let v = n, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} bytes` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60), r = s % 60;
  if (m < 60) return r ? `${m} min ${r} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_LONG = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];
export const monthName = (m, long = false) => (long ? MONTHS_LONG : MONTHS)[m - 1];

/** A naive local capture time ("2019-08-12T14:30:25") in words, without any time-zone conversion. */
export function fmtLocal(iso, precision = "second", { long = false } = {}) {
  if (!iso) return "No date";
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})/.exec(iso);
  if (!m) return iso;
  const [, y, mo, d, h, mi, s] = m;
  if (precision === "decade") return `${y}s`;
  if (precision === "year") return y;
  const month = monthName(+mo, long);
  if (precision === "year") return y;
  if (precision === "month") return `${month} ${y}`;
  const date = `${+d} ${month} ${y}`;
  if (precision === "day") return date;
  return precision === "minute" ? `${date}, ${h}:${mi}` : `${date}, ${h}:${mi}:${s}`;
}

/** A UTC timestamp from the server ("…Z") in the viewer's own clock. */
export function fmtWhen(isoUtc) {
  if (!isoUtc) return "—";
  const d = new Date(isoUtc);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export const CONFIDENCE_WORDS = { high: "High", medium: "Medium", low: "Low", none: "No date" };
export const CONFIDENCE_HELP = {
  high: "Sources agree: very likely right",
  medium: "One good source, nothing against it",
  low: "Sources disagree or are weak: please check",
  none: "No date found: please set one",
};

let toastTimer = null;
/** A short message at the bottom of the page, optionally with an action button (e.g. Undo). */
export function toast(message, { error = false, action = null, timeout = 6000 } = {}) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.replaceChildren(el("span", { text: message }));
  if (action) box.append(el("button", { class: "small", onclick: () => { box.hidden = true; action.run(); } }, action.label));
  box.classList.toggle("error", error);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, timeout);
}

/** An icon from the page's sprite (templates/_icons.html): decoration, or an image named `label`. */
export function icon(name, label = null) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("focusable", "false");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  const use = document.createElementNS(ns, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

// ---- the menu button (narrow screens) ----------------------------------
// On a phone the links fold away behind a button; it says whether the menu is open (aria-expanded),
// Escape or a click elsewhere closes it and gives the focus back to the button, and so does tabbing
// past the last link.
function setUpMenu() {
  const button = document.getElementById("menu-toggle");
  const nav = document.getElementById("main-nav");
  if (!button || !nav) return;
  const bar = button.closest(".topbar");
  const isOpen = () => button.getAttribute("aria-expanded") === "true";
  const setOpen = (open) => {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    bar.classList.toggle("menu-open", open);
  };
  button.addEventListener("click", () => setOpen(!isOpen()));
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !isOpen()) return;
    setOpen(false);
    button.focus();
    e.stopPropagation();
  }, true);
  document.addEventListener("click", (e) => {
    if (isOpen() && !bar.contains(e.target)) setOpen(false);
  });
  bar.addEventListener("focusout", (e) => {
    if (isOpen() && e.relatedTarget && !bar.contains(e.relatedTarget)) setOpen(false);
  });
}
setUpMenu();

// ---- the "no worker" banner -------------------------------------------
export async function checkWorker() {
  const banner = document.getElementById("worker-banner");
  if (!banner) return;
  try {
    const resp = await fetch("/api/health", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (resp.status === 401) return;
    const info = await resp.json();
    banner.hidden = !!info.worker_alive;
    document.dispatchEvent(new CustomEvent("mediaparser:health", { detail: info }));
  } catch (e) {
    /* the server itself is unreachable: leave the banner as it was */
  }
}

if (document.body.dataset.page !== "login") {
  checkWorker();
  setInterval(checkWorker, 5000);
}

/** A file's error: the plain sentence (media/errors.py), and the technical detail behind a "details" toggle. */
export function errorWhy(sentence, detail, { tag = "div", cls = "why" } = {}) {
  return el(tag, { class: cls }, el("span", { class: "why-text", text: sentence || "" }),
    detail && detail !== sentence
      ? el("details", { class: "why-detail" }, el("summary", {}, "details"), el("code", { text: detail }))
      : null);
}
