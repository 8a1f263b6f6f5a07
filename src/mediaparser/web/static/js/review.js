// The review grid: filters (kept in the URL), the month timeline, keyset-paged
// tiles with lazy thumbnails, selection, bulk actions. The examination view
// lives in examine.js.
import { api, el, fmtBytes, fmtInt, fmtLocal, icon, monthName, toast, CONFIDENCE_WORDS, CONFIDENCE_HELP } from "./common.js";
import { Examiner } from "./examine.js";
import { TagField } from "./tagfield.js";

const PAGE = 120;
const STRETCH = 1200; // tiles kept on the page before "show the next …"
const FILTER_KEYS = ["state", "confidence", "year", "month", "kind", "error", "group", "job", "camera", "tag", "takeout"];

const grid = document.getElementById("grid");
const gridEnd = document.getElementById("grid-end");
const $ = (id) => document.getElementById(id);

// ---- state -------------------------------------------------------------
const params = new URLSearchParams(location.search);
const state = {
  filter: Object.fromEntries(FILTER_KEYS.filter((k) => params.get(k)).map((k) => [k, params.get(k)])),
  sort: params.get("sort") || "time",
  order: params.get("order") || "asc",
};
let items = []; // loaded grid items, in order
let index = new Map(); // id -> position in items
let cursor = null;
let loading = false;
let generation = 0; // bumps on every reload; late answers of older loads are dropped
let total = 0;
const sel = { ids: new Set(), all: false, except: new Set(), anchor: null };
let currentId = null;

function filterArgs(extra = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...state.filter, ...extra })) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return q;
}
function orderArgs() {
  const q = filterArgs();
  q.set("sort", state.sort);
  q.set("order", state.order);
  return q;
}
function syncUrl(openId) {
  const q = orderArgs();
  if (q.get("sort") === "time") q.delete("sort");
  if (q.get("order") === "asc") q.delete("order");
  if (openId) q.set("open", openId);
  const url = `${location.pathname}${q.toString() ? "?" + q : ""}`;
  history.replaceState(null, "", url);
}

// ---- filters sidebar ---------------------------------------------------
function showFilters() {
  for (const r of document.querySelectorAll('input[name="state"]')) r.checked = r.value === (state.filter.state || "all");
  const conf = (state.filter.confidence || "").split(",");
  for (const c of document.querySelectorAll('input[name="confidence"]')) c.checked = conf.includes(c.value);
  for (const name of ["kind", "error", "group", "job", "camera", "takeout"]) {
    const s = $(`f-${name}`);
    if (state.filter[name] && ![...s.options].some((o) => o.value === state.filter[name])) {
      s.append(el("option", { value: state.filter[name] }, state.filter[name]));
    }
    s.value = state.filter[name] || "";
  }
  $("f-tag").value = state.filter.tag || "";
  $("f-sort").value = state.sort;
  $("f-order").value = state.order;
  showFilterCount();
}

function setFilter(changes) {
  for (const [k, v] of Object.entries(changes)) {
    if (v === "" || v === null || v === undefined || (k === "state" && v === "all")) delete state.filter[k];
    else state.filter[k] = v;
  }
  if (!state.filter.year) delete state.filter.month;
  showFilterCount();
  clearSelection();
  syncUrl();
  reload({ toTop: true });
}

document.querySelectorAll('input[name="state"]').forEach((r) => r.addEventListener("change", () => setFilter({ state: r.value })));
document.querySelectorAll('input[name="confidence"]').forEach((c) => c.addEventListener("change", () => {
  const chosen = [...document.querySelectorAll('input[name="confidence"]:checked')].map((x) => x.value);
  setFilter({ confidence: chosen.join(",") });
}));
for (const name of ["kind", "error", "group", "job", "camera", "takeout"]) $(`f-${name}`).addEventListener("change", (e) => setFilter({ [name]: e.target.value }));
$("f-tag").addEventListener("change", (e) => setFilter({ tag: e.target.value.trim() }));
let tagTimer = null;
$("f-tag").addEventListener("input", (e) => {
  clearTimeout(tagTimer);
  tagTimer = setTimeout(async () => {
    try {
      const { tags } = await api(`/api/tags?limit=20&q=${encodeURIComponent(e.target.value.trim())}`);
      $("tag-choices").replaceChildren(...tags.map((t) => el("option", { value: t.name }, `${t.name} (${fmtInt(t.uses)})`)));
    } catch { /* suggestions only */ }
  }, 200);
});
$("f-sort").addEventListener("change", (e) => { state.sort = e.target.value; syncUrl(); reload(); });
$("f-order").addEventListener("change", (e) => { state.order = e.target.value; syncUrl(); reload(); });
$("reset-filters").addEventListener("click", () => {
  state.filter = {};
  state.sort = "time";
  state.order = "asc";
  showFilters();
  setFilter({});
});

// ---- the filters drawer (narrow screens) ---------------------------------
// Below 760 px the filters slide in over the page; the "Filters" button
// opens them, ✕, Escape or a tap beside them closes them and gives the focus
// back. On wider screens they are a sidebar and the button is hidden.
const drawer = $("filters");
const drawerToggle = $("filters-toggle");
const narrow = matchMedia("(max-width: 760px)");
function setDrawer(open, { focus = true } = {}) {
  drawer.classList.toggle("open", open);
  drawerToggle.setAttribute("aria-expanded", open ? "true" : "false");
  $("filters-backdrop").hidden = !open;
  document.body.classList.toggle("drawer-open", open);
  if (!focus) return;
  if (open) (drawer.querySelector("input[name=state]:checked") || $("filters-close")).focus();
  else drawerToggle.focus();
}
drawerToggle.addEventListener("click", () => setDrawer(!drawer.classList.contains("open")));
$("filters-close").addEventListener("click", () => setDrawer(false));
$("filters-backdrop").addEventListener("click", () => setDrawer(false));
drawer.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && drawer.classList.contains("open")) { e.preventDefault(); setDrawer(false); }
});
narrow.addEventListener("change", () => { if (!narrow.matches) setDrawer(false, { focus: false }); });
function showFilterCount() {
  const n = Object.keys(state.filter).filter((k) => k !== "month").length;
  $("filters-n").textContent = n ? `(${n})` : "";
  drawerToggle.setAttribute("aria-label", n ? `Filters, ${n} in use` : "Filters");
}

async function fillChoices() {
  try {
    const { jobs } = await api("/api/jobs?limit=200");
    const s = $("f-job");
    for (const j of jobs.filter((j) => j.type === "import")) {
      if ([...s.options].some((o) => o.value === String(j.id))) continue;
      const where = j.path ? j.path.split("/").filter(Boolean).slice(-2).join("/") : "";
      s.append(el("option", { value: j.id }, `#${j.id} ${where.length > 30 ? "…" + where.slice(-30) : where}`));
    }
    const { cameras } = await api("/api/files/cameras");
    const c = $("f-camera");
    for (const cam of cameras) {
      if ([...c.options].some((o) => o.value === cam.camera)) continue;
      c.append(el("option", { value: cam.camera }, `${cam.camera} (${fmtInt(cam.count)})`));
    }
    showFilters();
  } catch (e) { /* the filters still work without the lists */ }
}

// ---- summary: counts and the month timeline ----------------------------
async function loadSummary(gen) {
  const data = await api(`/api/files/summary?${filterArgs()}`);
  if (gen !== generation) return;
  total = data.count;
  for (const [k, v] of Object.entries(data.states)) {
    const span = document.querySelector(`[data-count="${k}"]`);
    if (span) span.textContent = fmtInt(v);
  }
  // Counts count files; a stack is one tile, so say how many of them sit in stacks ("12 files in 1 burst").
  const inStacks = Object.values(data.stacks || {}).map((s) => `${fmtInt(s.files)} in ${fmtInt(s.stacks)} ${s.noun}`);
  $("match-count").textContent = `${fmtInt(total)} file${total === 1 ? "" : "s"}` + (inStacks.length ? ` · ${inStacks.join(", ")}` : "");
  $("select-all").hidden = total === 0;
  $("select-all").textContent = `Select all ${fmtInt(total)}`;
  drawTimeline(data.months, data.no_date);
  scrubber.build();
  for (const section of grid.children) labelDay(section); // "No date · N" counts from the summary
  updateSelectionBar();
}

// The timeline zooms: decades → years of a decade → months of a year, with
// bars sharing the card's width (it never scrolls or widens the page). A
// library whose months all fit shows them at once, as one level.
const tl = { months: [], noDate: 0, decade: null, width: 0 };
const MIN_MONTH_BAR = 5; // px per month bar before the view zooms out to years
const MIN_YEAR_BAR = 7;
const decadeOf = (y) => Math.floor(y / 10) * 10;
const plural = (n, word) => `${fmtInt(n)} ${word}${n === 1 ? "" : "s"}`;

function drawTimeline(months, noDate) {
  tl.months = months;
  tl.noDate = noDate;
  renderTimeline();
}

function timelineView(width) {
  const f = state.filter;
  const monthCount = new Map(tl.months.map((m) => [m.month, m.count]));
  const yearCount = new Map();
  for (const m of tl.months) { const y = +m.month.slice(0, 4); yearCount.set(y, (yearCount.get(y) || 0) + m.count); }
  const fy = +tl.months[0].month.slice(0, 4), fm = +tl.months[0].month.slice(5, 7);
  const last = tl.months[tl.months.length - 1].month;
  const ly = +last.slice(0, 4), lm = +last.slice(5, 7);
  const monthBar = (y, m) => ({
    key: `${y}-${String(m).padStart(2, "0")}`, kind: "month", count: monthCount.get(`${y}-${String(m).padStart(2, "0")}`) || 0,
    words: `${monthName(m, true)} ${y}`, current: f.year == y && f.month == m,
    go: () => setFilter({ year: String(y), month: String(m) }),
  });
  const yearBar = (y) => ({
    key: String(y), kind: "year", count: yearCount.get(y) || 0, words: String(y), current: f.year == y,
    go: () => setFilter({ year: String(y), month: "" }),
  });
  const span = (ly - fy) * 12 + (lm - fm) + 1;
  if (span * MIN_MONTH_BAR <= width) { // everything, month by month
    const bars = [], labels = [];
    for (let y = fy, m = fm; y < ly || (y === ly && m <= lm); m === 12 ? (m = 1, y++) : m++) {
      if (m === 1 || !bars.length) labels.push({ at: bars.length, text: String(y) });
      bars.push(monthBar(y, m));
    }
    return { level: "all", bars, labels, hint: "Click a month to show only it", crumbs: [] };
  }
  const decades = (ly - fy + 1) * MIN_YEAR_BAR > width;
  const top = { text: decades ? "All decades" : "All years", go: () => { tl.decade = null; if (f.year) setFilter({ year: "", month: "" }); else renderTimeline(true); } };
  if (f.year && f.year !== "none") {
    const y = +f.year;
    const bars = [];
    for (let m = 1; m <= 12; m++) bars.push(monthBar(y, m));
    const short = width / 12 < 34;
    const labels = bars.map((b, i) => ({ at: i, text: short ? monthName(i + 1).slice(0, 1) : monthName(i + 1) }));
    const crumbs = [top];
    if (decades) crumbs.push({ text: `${decadeOf(y)}s`, go: () => { tl.decade = decadeOf(y); setFilter({ year: "", month: "" }); } });
    crumbs.push({ text: String(y) });
    return { level: "months", bars, labels, hint: "Click a month to show only it", crumbs };
  }
  if (decades && tl.decade !== null) {
    const d = tl.decade;
    const bars = [];
    for (let y = d; y < d + 10; y++) bars.push(yearBar(y));
    const short = width / 10 < 40;
    const labels = bars.map((b, i) => ({ at: i, text: short ? `’${String(d + i).slice(2)}` : String(d + i) }));
    return { level: "years", bars, labels, hint: "Click a year to zoom in and show it", crumbs: [top, { text: `${d}s` }] };
  }
  if (!decades) {
    const bars = [], labels = [];
    const every = [1, 2, 5, 10, 20, 50].find((k) => (width / (ly - fy + 1)) * k >= 40) || 100;
    for (let y = fy; y <= ly; y++) {
      if (y % every === 0 || y === fy) labels.push({ at: bars.length, text: String(y) });
      bars.push(yearBar(y));
    }
    if (labels.length > 1 && labels[1].at - labels[0].at < Math.ceil(every / 2)) labels.splice(0, 1);
    return { level: "years", bars, labels, hint: "Click a year to zoom in and show it", crumbs: [] };
  }
  const bars = [], labels = [];
  const every = width / (decadeOf(ly) / 10 - decadeOf(fy) / 10 + 1) >= 44 ? 1 : 2;
  for (let d = decadeOf(fy); d <= ly; d += 10) {
    let n = 0;
    for (let y = d; y < d + 10; y++) n += yearCount.get(y) || 0;
    if ((d / 10) % every === 0) labels.push({ at: bars.length, text: `${d}s` });
    bars.push({ key: String(d), kind: "decade", count: n, words: `The ${d}s`, current: tl.decade === d,
      go: () => { tl.decade = d; renderTimeline(true); } });
  }
  return { level: "decades", bars, labels, hint: "Click a decade to zoom in", crumbs: [] };
}

function renderTimeline(focus = false) {
  const line = $("timeline");
  const labelRow = $("timeline-years");
  const crumbs = $("tl-crumbs");
  line.replaceChildren();
  labelRow.replaceChildren();
  crumbs.replaceChildren();
  const f = state.filter;
  $("date-filter").textContent = f.year === "none" ? "Files without a date"
    : f.year ? (f.month ? `${monthName(+f.month, true)} ${f.year}` : `The year ${f.year}`) : "All dates";
  $("all-dates").hidden = !f.year;
  const months = tl.months, noDate = tl.noDate;
  if (!months.length && !noDate) {
    $("tl-hint").textContent = "";
    line.append(el("span", { class: "muted", text: "No dated files here." }));
    return;
  }
  const noDateRoom = noDate ? 44 : 0;
  tl.width = line.clientWidth;
  const view = months.length ? timelineView(Math.max(60, tl.width - noDateRoom)) : { bars: [], labels: [], crumbs: [], hint: "" };
  $("tl-hint").textContent = view.hint;
  line.setAttribute("aria-label", view.level === "decades" ? "Files per decade" : view.level === "years" ? "Files per year" : "Files per month");
  view.crumbs.forEach((c, i) => {
    if (i) crumbs.append(el("span", { class: "sep", "aria-hidden": "true", text: "›" }));
    crumbs.append(c.go ? el("button", { type: "button", class: "linkish small", onclick: c.go }, c.text)
      : el("span", { class: "here", "aria-current": "location", text: c.text }));
  });
  const max = Math.max(1, ...view.bars.map((b) => b.count), noDate || 0);
  const height = (n) => (n ? `${Math.max(6, Math.round((100 * Math.sqrt(n)) / Math.sqrt(max)))}%` : "2px");
  const fill = (n) => { const f = el("span", { class: "fill" }); f.style.height = height(n); return f; };
  const bars = el("div", { class: "tl-bars" });
  for (const b of view.bars) {
    const bar = el("button", {
      type: "button", class: `bar ${b.kind}${b.count ? "" : " empty"}${b.current ? " current" : ""}`,
      title: `${b.words}: ${plural(b.count, "file")}`, "aria-label": `${b.words}, ${plural(b.count, "file")}`,
      "aria-current": b.current ? "true" : null, [`data-${b.kind}`]: b.key, onclick: b.go,
    }, fill(b.count));
    bars.append(bar);
  }
  line.append(bars);
  if (noDate) {
    line.append(el("button", {
      type: "button", class: `bar nodate${f.year === "none" ? " current" : ""}`, title: `No date: ${plural(noDate, "file")}`,
      "aria-label": `No date, ${plural(noDate, "file")}`, "aria-current": f.year === "none" ? "true" : null,
      onclick: () => setFilter({ year: "none", month: "" }),
    }, fill(noDate)));
  }
  const n = view.bars.length;
  labelRow.style.marginRight = `${noDateRoom}px`;
  const room = tl.width - noDateRoom;
  for (const l of view.labels) {
    if (n > 1 && (room * l.at) / n > room - 26) continue; // no room for a label under the last bars
    const label = el("span", { text: l.text });
    label.style.left = `${(100 * l.at) / Math.max(n, 1)}%`; // CSSOM: the page's CSP refuses style attributes
    labelRow.append(label);
  }
  // One Tab stop for the whole timeline (the current bar, else the first with files); arrow keys move along it.
  const stop = line.querySelector(".bar.current") || line.querySelector(".bar:not(.empty)") || line.querySelector(".bar");
  for (const b of line.querySelectorAll(".bar")) b.tabIndex = b === stop ? 0 : -1;
  if (focus) stop?.focus();
}
$("timeline").addEventListener("keydown", (e) => {
  const bars = [...$("timeline").querySelectorAll(".bar")];
  const at = bars.indexOf(document.activeElement);
  if (at < 0) return;
  const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: bars.length - 1 }[e.key];
  if (to === undefined || !bars[to]) return;
  e.preventDefault();
  bars[at].tabIndex = -1;
  bars[to].tabIndex = 0;
  bars[to].focus();
});
$("all-dates").addEventListener("click", () => { tl.decade = null; setFilter({ year: "", month: "" }); });
new ResizeObserver(() => { if ($("timeline").clientWidth !== tl.width && (tl.months.length || tl.noDate)) renderTimeline(); }).observe($("timeline"));

// ---- the grid ----------------------------------------------------------
function badgeFor(item) {
  if (item.review === "reviewed") return el("span", { class: "badge reviewed", title: "A person checked this date" }, "✓ Checked");
  if (item.status === "FAILED") return el("span", { class: "badge error", title: item.error || "" }, "Unreadable");
  return el("span", { class: `badge ${item.confidence}`, title: CONFIDENCE_HELP[item.confidence] }, CONFIDENCE_WORDS[item.confidence]);
}

// Where Google Photos kept a file (its Takeout JSON or folder said so).
const TAKEOUT_FLAG_WORDS = { trash: "Trash", archive: "Archived", locked: "Locked" };
const TAKEOUT_FLAG_TITLES = {
  trash: "Google Photos had this in its Trash", archive: "Archived in Google Photos",
  locked: "From Google Photos' Locked Folder",
};

// No picture to show (the API says thumb: false): the facts, never a broken image.
function noPreview(item) {
  return el("span", { class: "placeholder no-preview-tile" },
    el("strong", { text: "No preview" }),
    el("span", { text: [item.type ? item.type.toUpperCase() : null, item.size != null ? fmtBytes(item.size) : null].filter(Boolean).join(" · ") }),
    el("span", { class: "np-name", text: item.name }));
}

function tile(item) {
  const thumb = item.thumb
    ? el("img", { src: `/files/${item.id}/thumb`, alt: "", loading: "lazy", decoding: "async", draggable: "false" })
    : item.status === "FAILED" ? el("span", { class: "placeholder", text: "Could not be read" })
      : noPreview(item);
  const node = el("div", {
    class: "tile", role: "option", tabindex: "0", "data-id": item.id, "aria-selected": "false",
    title: `${item.folder ? item.folder + "/" : ""}${item.name}`,
  },
  el("div", { class: "thumb" }, thumb, item.kind === "video" ? el("span", { class: "play" }, icon("play"), " video") : null,
    item.motion ? el("span", { class: "play motion", title: "Motion Photo: a photo with a short video inside, kept as one file" }, icon("play"), " Motion Photo") : null,
    item.group_id || item.similar_group_id
      ? el("span", { class: "dup", "data-href": `/duplicates?group=${item.group_id || item.similar_group_id}`,
        title: "In a group of duplicates or similar pictures: open the group to compare and choose" }, icon("copies"), " duplicates")
      : null,
    item.takeout_flag ? el("span", { class: `gflag gflag-${item.takeout_flag}`, title: TAKEOUT_FLAG_TITLES[item.takeout_flag] },
      TAKEOUT_FLAG_WORDS[item.takeout_flag]) : null,
    stackBadge(item)),
  el("span", { class: "check", "aria-hidden": "true", text: "✓" }),
  // The mark and "Open" are for the mouse and touch (a tile is an option: it holds no control of its own);
  // by keyboard, Enter opens the file, and the examination view links its group.
  el("span", { class: "open button", "aria-hidden": "true", "data-open": item.id }, "Open"),
  el("div", { class: "meta" },
    el("span", { class: "time", text: tileTime(item) }),
    el("div", { class: "row" }, badgeFor(item), el("span", { class: "name", text: item.name })),
    item.tags && item.tags.length ? el("div", { class: "tile-tags", title: `Tags: ${item.tags.join(", ")}` },
      ...item.tags.map((t) => el("span", { class: "tt", text: t }))) : null));
  paintSelected(node, item.id);
  return node;
}

// A stack is one tile, its lead's: the badge says what kind and how many files it holds.
const STACK_HELP = {
  live: "A Live Photo: the still and its short clip, reviewed and exported together",
  raw_jpeg: "A RAW and the camera's JPEG of the same shot, reviewed and exported together",
  burst: "A burst: every frame is kept unless you choose; open it to step through the frames",
  edited: "An original and its edited copy, reviewed together, both kept",
};
function stackBadge(item) {
  const st = item.stack;
  if (!st || !st.count) return null;  // a member shown alone (its lead is filtered out) has no badge
  const text = st.kind === "burst" || st.count > 2 ? `${st.label} · ${fmtInt(st.count)}` : st.label;
  return el("span", { class: `stackb stackb-${st.kind}`, title: `${STACK_HELP[st.kind] || st.label} (${fmtInt(st.count)} files)` },
    icon("stack"), " ", text);
}

/** Under a day header a tile says only the time of day; sorted otherwise, the whole date. */
function tileTime(item) {
  if (!item.captured_at) return "No date";
  if (state.sort === "time" && (item.precision === "second" || item.precision === "minute")) return item.captured_at.slice(11, 16);
  return fmtLocal(item.captured_at, item.precision === "second" ? "minute" : item.precision);
}

// ---- day sections -----------------------------------------------------------
// In time order the tiles sit in one section per day, under a sticky header
// ("Sunday, 12 August 2019 · 14"); the count is every matching file of that
// day (the page's "days"), not only the ones loaded. Other orders: one section.
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
let dayCounts = new Map();
// A file known only to the year or month gets a section of its own ("2019", "August 2019"), not a day.
const PRECISION_CHARS = { year: 4, month: 7 };
const dayOf = (item) => (state.sort !== "time" ? "all"
  : item.captured_at ? item.captured_at.slice(0, PRECISION_CHARS[item.precision] || 10) : "none");

function dayWords(key) {
  if (key === "none") return "No date";
  if (key.length === 4) return `Sometime in ${key}`;
  if (key.length === 7) return `${monthName(+key.slice(5, 7), true)} ${key.slice(0, 4)}`;
  const [y, m, d] = key.split("-").map(Number);
  return `${WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]}, ${d} ${monthName(m, true)} ${y}`;
}

function labelDay(section) {
  const key = section.dataset.day;
  if (key === "all") return;
  const n = key === "none" ? tl.noDate || section.querySelectorAll(".tile").length
    : (key.length === 10 && dayCounts.get(key)) || section.querySelectorAll(".tile").length;
  section.querySelector(".day-head").textContent = `${dayWords(key)} · ${fmtInt(n)}`;
  section.setAttribute("aria-label", `${dayWords(key)}, ${plural(n, "file")}`);
}

function daySection(key) {
  const flat = key === "all";
  return el("div", { class: `day${flat ? " flat" : ""}`, role: "group", "data-day": key, "aria-label": flat ? null : dayWords(key) },
    flat ? null : el("div", { class: "day-head", "aria-hidden": "true" }),
    el("div", { class: "day-tiles" }));
}

/** Put tiles into their day sections, at the end of the grid or (earlier files) at its start. */
function placeTiles(list, { atStart = false } = {}) {
  const touched = new Set();
  for (const item of list) {
    const key = dayOf(item);
    let section = atStart ? grid.firstElementChild : grid.lastElementChild;
    if (!section || section.dataset.day !== key) {
      section = daySection(key);
      if (atStart) grid.prepend(section); else grid.append(section);
    }
    const tiles = section.lastElementChild;
    if (atStart) tiles.prepend(tile(item)); else tiles.append(tile(item));
    touched.add(section);
  }
  for (const section of touched) labelDay(section);
}

function reindex() { index = new Map(items.map((it, i) => [it.id, i])); }

function mergeDays(days) { for (const [k, v] of Object.entries(days || {})) dayCounts.set(k, v); }

// ---- paging: forward from a start, and back from it after a jump ------------
let view = { at: null, from: null }; // where the grid starts (null: at the beginning)
let back = null; // paging backwards: { cursor, datedOnly } or null when the start is shown
let loadingBack = false;

async function loadMore() {
  if (loading || cursor === undefined) return;
  loading = true;
  const gen = generation;
  gridEnd.textContent = "Loading…";
  try {
    const q = orderArgs();
    q.set("limit", PAGE);
    if (cursor) q.set("cursor", cursor);
    else if (!items.length && view.at) q.set("at", view.at);
    const data = await api(`/api/files?${q}`);
    if (gen !== generation) return;
    const first = !items.length;
    mergeDays(data.days);
    for (const item of data.files) { index.set(item.id, items.length); items.push(item); }
    placeTiles(data.files);
    cursor = data.next_cursor || undefined;
    if (first && (view.at || view.from) && data.files.length) {
      back = { cursor: data.first_cursor, datedOnly: !!data.files[0].captured_at };
    }
    updateEnd();
    updateStart();
  } catch (e) {
    gridEnd.textContent = e.message;
  } finally {
    if (gen === generation) loading = false;
  }
}

/** The files before the first one shown (after a jump): the same order turned round, put in front. */
async function loadEarlier() {
  if (loadingBack || loading || !back || items.length >= STRETCH) return;
  loadingBack = true;
  const gen = generation;
  try {
    const q = filterArgs();
    q.set("sort", state.sort);
    q.set("order", state.order === "asc" ? "desc" : "asc");
    q.set("limit", PAGE);
    if (back.cursor) q.set("cursor", back.cursor);
    const data = await api(`/api/files?${q}`);
    if (gen !== generation) return;
    let rows = data.files;
    let ended = !data.next_cursor;
    if (back.datedOnly) { // files without a date come last in both directions: not before a dated one
      const stop = rows.findIndex((r) => !r.captured_at);
      if (stop >= 0) { rows = rows.slice(0, stop); ended = true; }
    }
    mergeDays(data.days);
    // Keep the tile the reader looks at where it is while files go in above it.
    const ref = grid.querySelector(".tile");
    const before = ref ? ref.getBoundingClientRect().top : 0;
    items = [...rows.slice().reverse(), ...items];
    reindex();
    placeTiles(rows, { atStart: true });
    if (ref) window.scrollBy(0, ref.getBoundingClientRect().top - before);
    if (!ended) back = { cursor: data.next_cursor, datedOnly: back.datedOnly };
    else if (!back.datedOnly && state.sort === "time") back = { cursor: null, datedOnly: true }; // on to the dated files
    else back = null;
    updateStart();
  } catch (e) {
    toast(e.message, { error: true });
  } finally {
    if (gen === generation) loadingBack = false;
  }
}

function updateStart() {
  const start = $("grid-start");
  start.replaceChildren();
  start.hidden = !back;
  if (!back) return;
  if (items.length >= STRETCH) {
    start.append(el("button", { type: "button", onclick: () => reload({ toTop: true }) }, "Back to the start"),
      el("span", { class: "muted", text: " or pick a date on the right." }));
    return;
  }
  start.append(el("button", { type: "button", class: "small", onclick: () => loadEarlier() }, "Show earlier files"));
  startObserver.observe(start);
}
const startObserver = new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting)) loadEarlier();
}, { rootMargin: "600px" });

function updateEnd() {
  gridEnd.replaceChildren();
  if (!items.length) {
    gridEnd.append(el("div", { class: "empty-state" }, el("p", { text: "No files match these filters." }),
      Object.keys(state.filter).length ? el("button", { type: "button", onclick: () => $("reset-filters").click() }, "Show everything") :
        el("a", { href: "/import", class: "button primary" }, "Import photos")));
    return;
  }
  if (cursor === undefined) { gridEnd.textContent = `That's all: ${fmtInt(items.length)} shown.`; return; }
  if (items.length >= STRETCH) {
    gridEnd.append(el("p", { text: `${fmtInt(items.length)} files shown. To keep the page quick, continue on a fresh page — or pick a date on the right.` }),
      el("button", { type: "button", class: "primary", onclick: () => { const c = cursor; reload({ from: c, toTop: true }); } }, "Show the next files"),
      " ", el("button", { type: "button", onclick: () => reload({ toTop: true }) }, "Back to the start"));
    return;
  }
  gridEnd.textContent = "";
  observer.observe(gridEnd);
}

const observer = new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && items.length < STRETCH) loadMore();
}, { rootMargin: "800px" });

/** Back to where the reader was, or up to the start of the results if they were below it
 * (never to the document's top). */
function scrollToResults(was) {
  const top = $("results-top").getBoundingClientRect().top + window.scrollY - 8;
  window.scrollTo(0, Math.min(was, top));
}

async function reload({ from = null, at = null, keep = false, toTop = false } = {}) {
  generation++;
  const gen = generation;
  const wanted = keep ? Math.min(items.length, STRETCH) : 0;
  const scroll = window.scrollY;
  if (keep) {
    // The same start as before: after a jump, the day of the first file shown.
    if ((view.at || view.from || back) && state.sort === "time" && items.length) {
      view = { at: items[0].captured_at ? items[0].captured_at.slice(0, 10) : "none", from: null };
    }
  } else {
    view = { at, from };
  }
  items = [];
  index = new Map();
  dayCounts = new Map();
  cursor = view.from;
  back = null;
  loading = false;
  loadingBack = false;
  // Hold the grid's height while it refills, so the page does not collapse
  // under the reader (which would throw them up to the timeline or beyond).
  grid.style.minHeight = `${grid.offsetHeight}px`;
  grid.replaceChildren();
  updateStart();
  loadSummary(gen).catch((e) => toast(e.message, { error: true }));
  await loadMore();
  while (keep && gen === generation && items.length < wanted && cursor) await loadMore();
  if (gen !== generation) return;
  grid.style.minHeight = "";
  if (keep) window.scrollTo(0, scroll);
  else if (at && grid.firstElementChild) window.scrollTo(0, grid.firstElementChild.getBoundingClientRect().top + window.scrollY);
  else if (toTop) scrollToResults(scroll);
  scrubber.follow();
}

// ---- the date scrubber ----------------------------------------------------
// A strip on the window's right edge standing for every matching month (room
// in proportion to its files, newest at the bottom in ascending order): drag or
// click to jump there, the date shows while dragging; arrow keys, Page Up/Down
// (a year), Home and End move it and Enter (or a pause) jumps. Its marker
// follows the day at the top of the window while scrolling.
const scrubber = (() => {
  const box = $("scrubber");
  const track = box.querySelector(".scrub-track");
  const labels = box.querySelector(".scrub-labels");
  const thumb = box.querySelector(".scrub-thumb");
  const bubble = $("scrub-bubble");
  let stops = [];
  let pending = -1;
  let dragging = false;
  let keyTimer = null;
  const words = (s) => (s.key === "none" ? "No date" : `${monthName(+s.key.slice(5, 7), true)} ${s.key.slice(0, 4)}`);

  function build() {
    const f = state.filter;
    let months = state.sort === "time" && f.year !== "none" ? tl.months : [];
    if (f.year && f.year !== "none") {
      const prefix = f.month ? `${f.year}-${String(f.month).padStart(2, "0")}` : `${f.year}-`;
      months = months.filter((m) => m.month.startsWith(prefix));
    }
    const list = months.map((m) => ({ key: m.month, count: m.count }));
    if (state.order === "desc") list.reverse();
    if (state.sort === "time" && !f.year && tl.noDate) list.push({ key: "none", count: tl.noDate });
    const sum = list.reduce((a, b) => a + b.count, 0) || 1;
    let acc = 0;
    for (const st of list) { st.at = acc / sum; acc += st.count; st.end = acc / sum; }
    stops = list;
    box.hidden = stops.length < 2;
    document.body.classList.toggle("has-scrubber", !box.hidden);
    box.setAttribute("aria-valuemax", String(Math.max(0, stops.length - 1)));
    drawLabels();
    follow();
  }

  function drawLabels() {
    labels.replaceChildren();
    const h = track.clientHeight;
    if (box.hidden || !h) return;
    const years = new Set(stops.map((st) => st.key.slice(0, 4)));
    const oneYear = years.size === 1;
    let last = -Infinity;
    const every = oneYear ? 1 : [1, 2, 5, 10, 20, 50, 100].find((k) => (years.size / k) * 20 <= h) || 100;
    stops.forEach((st, i) => {
      const y = st.at * h;
      let text = null;
      if (st.key === "none") text = "none";
      else if (oneYear) text = monthName(+st.key.slice(5, 7));
      else if (i === 0 || st.key.slice(0, 4) !== stops[i - 1].key.slice(0, 4)) {
        const yr = +st.key.slice(0, 4);
        if (yr % every === 0 || i === 0) text = String(yr);
      }
      if (text === null || y - last < 18 || y > h - 10) return;
      last = y;
      const label = el("span", { text });
      label.style.top = `${y}px`;
      labels.append(label);
    });
  }

  function stopAt(clientY) {
    const r = track.getBoundingClientRect();
    const f = Math.min(0.99999, Math.max(0, (clientY - r.top) / r.height));
    const i = stops.findIndex((st) => f < st.end);
    return i < 0 ? stops.length - 1 : i;
  }

  function mark(i, { showBubble = false, y = null } = {}) {
    if (i < 0 || !stops[i]) return;
    const h = track.clientHeight;
    const top = y === null ? ((stops[i].at + stops[i].end) / 2) * h : y;
    thumb.style.top = `${top}px`;
    box.setAttribute("aria-valuenow", String(i));
    box.setAttribute("aria-valuetext", words(stops[i]));
    bubble.hidden = !showBubble;
    if (showBubble) { bubble.textContent = words(stops[i]); bubble.style.top = `${top + track.offsetTop}px`; }
  }

  function jump(i) {
    clearTimeout(keyTimer);
    bubble.hidden = true;
    if (i < 0 || !stops[i]) return;
    reload({ at: stops[i].key });
  }

  box.addEventListener("pointerdown", (e) => {
    if (box.hidden) return;
    e.preventDefault();
    dragging = true;
    box.setPointerCapture(e.pointerId);
    box.classList.add("dragging");
    pending = stopAt(e.clientY);
    mark(pending, { showBubble: true, y: e.clientY - track.getBoundingClientRect().top });
  });
  box.addEventListener("pointermove", (e) => {
    const i = stopAt(e.clientY);
    if (dragging) pending = i;
    mark(i, { showBubble: true, y: Math.max(0, Math.min(track.clientHeight, e.clientY - track.getBoundingClientRect().top)) });
  });
  const release = (commit) => {
    if (!dragging) return;
    dragging = false;
    box.classList.remove("dragging");
    const i = pending;
    pending = -1;
    if (commit) jump(i); else { bubble.hidden = true; follow(); }
  };
  box.addEventListener("pointerup", () => release(true));
  box.addEventListener("pointercancel", () => release(false));
  box.addEventListener("pointerleave", () => { if (!dragging) { bubble.hidden = true; follow(); } });
  box.addEventListener("keydown", (e) => {
    const now = pending >= 0 ? pending : +box.getAttribute("aria-valuenow");
    const moves = { ArrowDown: 1, ArrowUp: -1, ArrowRight: 1, ArrowLeft: -1, PageDown: 12, PageUp: -12 };
    let i = null;
    if (e.key in moves) i = now + moves[e.key];
    else if (e.key === "Home") i = 0;
    else if (e.key === "End") i = stops.length - 1;
    else if (e.key === "Enter" || e.key === " ") { e.preventDefault(); jump(now); pending = -1; return; }
    else return;
    e.preventDefault();
    pending = Math.max(0, Math.min(stops.length - 1, i));
    mark(pending, { showBubble: true });
    clearTimeout(keyTimer);
    keyTimer = setTimeout(() => { const p = pending; pending = -1; jump(p); }, 700);
  });
  box.addEventListener("blur", () => { if (!dragging && pending < 0) bubble.hidden = true; });

  /** Keep the strip beside the results and its marker on the day at the top of the window. */
  function follow() {
    if (box.hidden) return;
    box.style.top = `${Math.max(8, $("results-top").getBoundingClientRect().top)}px`;
    if (dragging || pending >= 0) return;
    let key = null;
    for (const section of grid.children) {
      if (section.getBoundingClientRect().bottom > 60) { key = section.dataset.day; break; }
    }
    if (!key || key === "all") return;
    const month = key === "none" ? "none" : key.length === 4 ? `${key}-01` : key.slice(0, 7);
    const i = stops.findIndex((st) => st.key === month);
    if (i >= 0) mark(i);
  }
  let ticking = false;
  window.addEventListener("scroll", () => {
    if (ticking) return;
    ticking = true;
    requestAnimationFrame(() => { ticking = false; follow(); });
  }, { passive: true });
  new ResizeObserver(() => { drawLabels(); follow(); }).observe(track);
  return { build, follow };
})();

// ---- thumbnail size: small / medium / large, remembered in this browser ----
const SIZES = ["small", "medium", "large"];
const SIZE_KEY = "mediaparser.review.tileSize";
function setTileSize(size, remember = true) {
  grid.dataset.size = size;
  for (const r of document.querySelectorAll('input[name="tile-size"]')) r.checked = r.value === size;
  if (remember) { try { localStorage.setItem(SIZE_KEY, size); } catch { /* private mode: this visit only */ } }
  scrubber.follow();
}
document.querySelectorAll('input[name="tile-size"]').forEach((r) => r.addEventListener("change", () => setTileSize(r.value)));
{
  let saved = null;
  try { saved = localStorage.getItem(SIZE_KEY); } catch { /* no storage */ }
  setTileSize(SIZES.includes(saved) ? saved : "medium", false);
}

// ---- selection ----------------------------------------------------------
function isSelected(id) { return sel.all ? !sel.except.has(id) : sel.ids.has(id); }
function paintSelected(node, id) {
  const on = isSelected(id);
  node.classList.toggle("selected", on);
  node.setAttribute("aria-selected", on ? "true" : "false");
  node.classList.toggle("current", id === currentId);
}
function repaint() { for (const node of grid.querySelectorAll(".tile")) paintSelected(node, +node.dataset.id); updateSelectionBar(); }
function selectedCount() { return sel.all ? total - sel.except.size : sel.ids.size; }
function clearSelection() { sel.ids.clear(); sel.all = false; sel.except.clear(); sel.anchor = null; repaint(); }

// The toast rises above the selection bar while it shows, so it never covers its buttons.
new ResizeObserver(() => {
  document.documentElement.style.setProperty("--selbar-h", `${$("selection-bar").offsetHeight}px`);
}).observe($("selection-bar"));

// A bar that appears under the pointer must not take the second click of a double-click
// on a tile near the window's bottom: it takes no clicks for its first moments.
let barTimer = null;
function updateSelectionBar() {
  const n = selectedCount();
  const bar = $("selection-bar");
  if (bar.hidden && n > 0) {
    bar.classList.add("arriving");
    clearTimeout(barTimer);
    barTimer = setTimeout(() => bar.classList.remove("arriving"), 450);
  }
  bar.hidden = n === 0;
  document.body.classList.toggle("has-selection", n > 0);
  $("sel-what").textContent = sel.all ? `All ${fmtInt(n)} matching files selected` : `${fmtInt(n)} selected`;
  $("act-open").hidden = n === 0;
}

function onTileClick(e, node) {
  const id = +node.dataset.id;
  currentId = id;
  if (e.shiftKey && sel.anchor !== null && index.has(sel.anchor)) {
    const [from, to] = [index.get(sel.anchor), index.get(id)];
    const [a, b] = [Math.min(from, to), Math.max(from, to)];
    if (!(e.ctrlKey || e.metaKey)) { sel.ids.clear(); sel.all = false; sel.except.clear(); }
    for (let i = a; i <= b; i++) {
      if (sel.all) sel.except.delete(items[i].id); else sel.ids.add(items[i].id);
    }
  } else if (e.ctrlKey || e.metaKey) {
    if (sel.all) { if (sel.except.has(id)) sel.except.delete(id); else sel.except.add(id); }
    else if (sel.ids.has(id)) sel.ids.delete(id); else sel.ids.add(id);
    sel.anchor = id;
  } else {
    sel.ids = new Set([id]);
    sel.all = false;
    sel.except.clear();
    sel.anchor = id;
  }
  repaint();
}

grid.addEventListener("click", (e) => {
  const dup = e.target.closest(".dup[data-href]");
  if (dup) { e.stopPropagation(); window.location.assign(dup.dataset.href); return; }  // opens the group; no selection
  const open = e.target.closest("[data-open]");
  if (open) { e.stopPropagation(); examiner.open(+open.dataset.open); return; }
  const node = e.target.closest(".tile");
  if (node) onTileClick(e, node);
});
grid.addEventListener("dblclick", (e) => {
  const node = e.target.closest(".tile");
  if (node) examiner.open(+node.dataset.id);
});
grid.addEventListener("keydown", (e) => {
  const node = e.target.closest(".tile");
  if (!node) return;
  if (e.key === "Enter") { e.preventDefault(); examiner.open(+node.dataset.id); }
  else if (e.key === " ") { e.preventDefault(); onTileClick({ ctrlKey: true }, node); }
  else if (["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp"].includes(e.key)) {
    const next = neighbourTile(node, e.key);
    if (next) { e.preventDefault(); next.focus(); if (e.shiftKey) onTileClick({ shiftKey: true }, next); }
  }
});

/** The tile beside `node` (left/right: previous/next file; up/down: the row above/below, across day sections). */
function neighbourTile(node, key) {
  const pos = index.get(+node.dataset.id);
  const at = (i) => (i >= 0 && i < items.length ? grid.querySelector(`.tile[data-id="${items[i].id}"]`) : null);
  if (key === "ArrowRight") return at(pos + 1);
  if (key === "ArrowLeft") return at(pos - 1);
  const here = node.getBoundingClientRect();
  const x = here.left + here.width / 2;
  const step = key === "ArrowDown" ? 1 : -1;
  let best = null, rowTop = null;
  for (let i = pos + step, seen = 0; i >= 0 && i < items.length && seen < 60; i += step, seen++) {
    const t = at(i);
    const r = t.getBoundingClientRect();
    if (step > 0 ? r.top < here.bottom - 1 : r.bottom > here.top + 1) continue; // still the same row
    if (rowTop === null) rowTop = r.top;
    if (r.top !== rowTop) break; // past the next row
    if (!best || Math.abs(r.left + r.width / 2 - x) < Math.abs(best.r.left + best.r.width / 2 - x)) best = { t, r };
  }
  return best && best.t;
}

$("select-all").addEventListener("click", () => { sel.all = true; sel.ids.clear(); sel.except.clear(); repaint(); });
$("act-none").addEventListener("click", clearSelection);

function target() {
  if (sel.all) return { selection: { all_matching: true, filter: Object.fromEntries(filterArgs()), except: [...sel.except] } };
  return { ids: [...sel.ids] };
}

export async function runAction(action, extra = {}, tgt = target()) {
  const res = await api("/api/review/actions", { method: "POST", json: { action, ...tgt, ...extra } });
  const words = res.changed ? `${res.summary}: ${fmtInt(res.changed)} file${res.changed === 1 ? "" : "s"}.` : "Nothing changed.";
  toast([words, ...res.notes].join(" "), res.batch_id ? { action: { label: "Undo", run: () => undo(res.batch_id) }, timeout: 10000 } : {});
  return res;
}

export async function undo(batchId, after = () => reload({ keep: true })) {
  try {
    const res = await api(`/api/review/batches/${batchId}/undo`, { method: "POST", json: {} });
    toast([`Undone: ${fmtInt(res.changed)} file${res.changed === 1 ? "" : "s"} back as before.`, ...res.notes].join(" "));
    await after();
  } catch (e) {
    toast(e.message, { error: true });
  }
}

$("act-confirm").addEventListener("click", async () => {
  const n = selectedCount();
  if (n > 50 && !confirm(`Confirm the dates of ${fmtInt(n)} files as they are?`)) return;
  try { await runAction("confirm"); await reload({ keep: true }); } catch (e) { toast(e.message, { error: true }); }
});
$("act-clear").addEventListener("click", async () => {
  try { await runAction("clear"); await reload({ keep: true }); } catch (e) { toast(e.message, { error: true }); }
});
$("act-open").addEventListener("click", () => {
  const first = sel.all ? items.find((it) => !sel.except.has(it.id)) : items.find((it) => sel.ids.has(it.id));
  if (first) examiner.open(first.id);
});

// ---- bulk dialogs: set a date, shift -----------------------------------
const dlg = $("bulk-dialog");
let bulkMode = null;
let parsed = null;

function shiftSeconds(prefix) {
  const v = (id) => Math.max(0, parseInt($(`${prefix}-${id}`).value || "0", 10) || 0);
  const secs = (v("d") * 86400 || 0) + v("h") * 3600 + v("m") * 60 + v("s");
  return secs * +$(`${prefix}-dir`).value;
}
export function shiftWords(secs) {
  const a = Math.abs(secs);
  const parts = [];
  const d = Math.floor(a / 86400), h = Math.floor((a % 86400) / 3600), m = Math.floor((a % 3600) / 60), s = a % 60;
  if (d) parts.push(`${d} day${d === 1 ? "" : "s"}`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s) parts.push(`${s} s`);
  return `${parts.join(" ") || "0 s"} ${secs >= 0 ? "later" : "earlier"}`;
}

function openBulk(mode) {
  bulkMode = mode;
  const n = selectedCount();
  $("bulk-title").textContent = mode === "set" ? `Set the date of ${fmtInt(n)} file${n === 1 ? "" : "s"}` : `Shift the time of ${fmtInt(n)} file${n === 1 ? "" : "s"}`;
  $("bulk-set").hidden = mode !== "set";
  $("bulk-shift").hidden = mode !== "shift";
  $("bulk-date").value = "";
  $("bulk-date-interp").textContent = "";
  for (const id of ["bulk-h", "bulk-m", "bulk-s", "bulk-d"]) $(id).value = "0";
  $("bulk-shift-interp").textContent = "";
  $("bulk-ok").disabled = true;
  parsed = null;
  dlg.showModal();
  (mode === "set" ? $("bulk-date") : $("bulk-h")).focus();
}
$("act-set").addEventListener("click", () => openBulk("set"));
$("act-shift").addEventListener("click", () => openBulk("shift"));

export function interpreter(input, out, onResult) {
  let t = null;
  input.addEventListener("input", () => {
    clearTimeout(t);
    const text = input.value.trim();
    if (!text) { out.textContent = ""; out.className = "interp"; onResult(null); return; }
    t = setTimeout(async () => {
      try {
        const r = await api(`/api/review/parse-date?text=${encodeURIComponent(text)}`);
        if (input.value.trim() !== text) return;
        out.textContent = `Understood as: ${r.text}. ${r.notes.join(" ")}`;
        out.className = "interp ok";
        onResult(r);
      } catch (e) {
        out.textContent = e.message;
        out.className = "interp bad";
        onResult(null);
      }
    }, 200);
  });
}
interpreter($("bulk-date"), $("bulk-date-interp"), (r) => { parsed = r; $("bulk-ok").disabled = !r; });
for (const id of ["bulk-h", "bulk-m", "bulk-s", "bulk-d", "bulk-dir"]) {
  $(id).addEventListener("input", () => {
    const secs = shiftSeconds("bulk");
    $("bulk-shift-interp").textContent = secs ? `Every selected file moves ${shiftWords(secs)}.` : "";
    $("bulk-ok").disabled = !secs;
  });
}
dlg.addEventListener("close", async () => {
  if (dlg.returnValue !== "ok") return;
  try {
    if (bulkMode === "set" && parsed) await runAction("set_date", { value: $("bulk-date").value });
    if (bulkMode === "shift") await runAction("shift", { seconds: shiftSeconds("bulk") });
    await reload({ keep: true });
  } catch (e) {
    toast(e.message, { error: true });
  }
});

// ---- tags on the selection: add, and remove (bulk) ---------------------------
const tagsDlg = $("tags-dialog");
let tagTarget = null;
const addField = new TagField($("tags-add-field"), {
  label: "Tags to add", placeholder: "e.g. beach, family",
  onChange: (names) => { $("tags-add").disabled = !names.length; },
});
$("tags-add-field").addEventListener("tagfield:submit", () => addTags());
$("tags-add").addEventListener("click", () => addTags());
$("act-tags").addEventListener("click", async () => {
  tagTarget = target();
  const n = selectedCount();
  $("tags-title").textContent = `Tags of ${fmtInt(n)} selected file${n === 1 ? "" : "s"}`;
  addField.clear();
  $("tags-present").replaceChildren();
  $("tags-present-note").textContent = "Looking…";
  tagsDlg.showModal();
  addField.input.focus();
  await showPresentTags();
});

async function showPresentTags() {
  try {
    const res = await api("/api/tags/on-selection", { method: "POST", json: tagTarget });
    $("tags-present-note").textContent = res.tags.length
      ? `On the ${plural(res.files, "selected file")}. × takes a tag off every selected file that has it.`
      : `None of the ${plural(res.files, "selected file")} has a tag.`;
    $("tags-present").replaceChildren(...res.tags.map((t) => el("li", { class: "tag-chip big", "data-tag": t.name },
      el("span", { class: "n", text: t.name }),
      el("span", { class: "uses", title: `${plural(t.files, "selected file")} of ${fmtInt(res.files)} carry this tag`, text: `${fmtInt(t.files)} of ${fmtInt(res.files)}` }),
      el("button", { type: "button", class: "x", "aria-label": `Remove ${t.name} from the selected files`, title: "Remove from the selected files", onclick: () => removeTag(t.name) }, "×"))));
  } catch (e) {
    $("tags-present-note").textContent = e.message;
  }
}

async function addTags() {
  const names = addField.values();
  if (!names.length) return;
  try {
    const res = await api("/api/tags/add", { method: "POST", json: { ...tagTarget, tags: names } });
    const some = res.added < res.files * res.tags.length ? " (some already had them)" : "";
    toast(res.added ? `Added ${res.tags.join(", ")} to ${plural(res.files, "file")}${some}.`
      : `All ${plural(res.files, "file")} already had ${res.tags.join(", ")}.`);
    addField.clear();
    await Promise.all([showPresentTags(), reload({ keep: true })]);
  } catch (e) {
    toast(e.message, { error: true });
  }
}

async function removeTag(name) {
  try {
    const res = await api("/api/tags/remove", { method: "POST", json: { ...tagTarget, tags: [name] } });
    toast(res.removed ? `Removed “${name}” from ${plural(res.removed, "file")}.` : `No selected file had “${name}”.`);
    await Promise.all([showPresentTags(), reload({ keep: true })]);
  } catch (e) {
    toast(e.message, { error: true });
  }
}

// ---- the examination view ------------------------------------------------
const examiner = new Examiner({
  filterArgs: () => orderArgs(),
  selection: () => (sel.all || sel.ids.size > 1 ? { count: selectedCount(), target: target() } : null),
  onOpen: (id) => { currentId = id; repaint(); syncUrl(id); },
  onClose: (changed) => {
    syncUrl();
    const node = grid.querySelector(`.tile[data-id="${currentId}"]`);
    if (changed) reload({ keep: true }); else if (node) node.focus();
  },
  runAction,
  undo,
  interpreter,
  shiftWords,
});

// ---- start ------------------------------------------------------------------
showFilters();
fillChoices();
reload().then(() => {
  const open = params.get("open");
  if (open && /^\d+$/.test(open)) examiner.open(+open);
});
