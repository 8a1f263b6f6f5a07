// The duplicate-review page: tabs of groups (exact, similar, decided), one
// group side by side with what differs, decisions by button or keyboard, the
// bulk accept for exact copies, and the set-aside files with Restore.
// The URL holds the place (?tab=… or ?group=ID), so a reload keeps it.
import { api, el, fmtBytes, fmtInt, fmtLocal, icon, toast } from "./common.js";

const $ = (id) => document.getElementById(id);
const TABS = ["exact", "similar", "resolved", "set-aside"];
const KIND_WORDS = { exact: "Exact copies", similar: "Similar" };
const CONF_WORDS = { high: "very likely the same picture", medium: "probably the same picture", low: "possibly the same picture" };

const state = {
  counts: null,
  tab: "exact",
  group: null,       // the group shown (API answer), or null in the list
  ticked: new Set(), // file ids ticked for "keep several"
  busy: false,
  listCursor: null,
  asideAfter: null,
};

// ---------------------------------------------------------------- URL --
function readUrl() {
  const p = new URLSearchParams(location.search);
  const gid = parseInt(p.get("group") || "", 10);
  const tab = TABS.includes(p.get("tab")) ? p.get("tab") : null;
  return { group: Number.isFinite(gid) ? gid : null, tab };
}

function go({ group = null, tab = null } = {}, { replace = false } = {}) {
  const p = new URLSearchParams();
  if (group) p.set("group", group);
  else if (tab) p.set("tab", tab);
  const url = location.pathname + (p.toString() ? "?" + p : "");
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  return render();
}

window.addEventListener("popstate", () => render());

// -------------------------------------------------------------- counts --
async function loadCounts() {
  state.counts = await api("/api/duplicates/counts");
  for (const node of document.querySelectorAll("[data-count]")) {
    node.textContent = fmtInt(state.counts[node.dataset.count]);
  }
  $("dup-accept-n").textContent = fmtInt(state.counts.exact);
  return state.counts;
}

function selectTab(tab) {
  for (const b of document.querySelectorAll("#dup-tabs [data-tab]")) {
    b.setAttribute("aria-selected", String(b.dataset.tab === tab));
  }
}

// ----------------------------------------------------------- rendering --
async function render() {
  const { group, tab } = readUrl();
  try {
    await loadCounts();
    if (group) {
      await showGroup(group);
    } else {
      state.tab = tab || defaultTab();
      selectTab(state.tab);
      if (state.tab === "set-aside") await showAside();
      else await showList();
    }
  } catch (e) {
    toast(e.message, { error: true });
  }
}

function defaultTab() {
  const c = state.counts || {};
  if (c.exact) return "exact";
  if (c.similar) return "similar";
  return "exact";
}

function showOnly(view) {
  $("dup-lead").hidden = view === "group"; // room for the pictures and their facts
  $("dup-list-view").hidden = view !== "list";
  $("dup-group-view").hidden = view !== "group";
  $("dup-aside-view").hidden = view !== "aside";
}

function picture(fileId, { big = false, alt = "" } = {}) {
  const img = el("img", { src: `/files/${fileId}/${big ? "preview" : "thumb"}`, alt, loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => {
    if (big && !img.dataset.fellBack) {
      img.dataset.fellBack = "1";
      img.src = `/files/${fileId}/thumb`;
    } else {
      img.replaceWith(el("span", { class: "placeholder", text: "No picture" }));
    }
  });
  return img;
}

// ---- the list of groups ----
function listQuery(after) {
  const p = new URLSearchParams({ limit: "60" });
  if (state.tab === "resolved") p.set("status", "resolved");
  else { p.set("status", "open"); p.set("kind", state.tab); }
  if (after) p.set("after", after);
  return "/api/duplicates?" + p;
}

async function showList(append = false) {
  showOnly("list");
  $("dup-bulk").hidden = !(state.tab === "exact" && state.counts.exact > 0);
  const box = $("dup-groups");
  const data = await api(listQuery(append ? state.listCursor : null));
  if (!append) box.replaceChildren();
  for (const g of data.groups) box.append(groupCard(g));
  state.listCursor = data.next_cursor;
  $("dup-more").hidden = !data.next_cursor;
  if (!box.children.length) box.append(emptyList());
}

function emptyList() {
  const words = {
    exact: "No exact copies wait for a decision.",
    similar: "No similar pictures wait for a decision.",
    resolved: "No group has been decided yet.",
  }[state.tab];
  return el("div", { class: "empty-state" }, words);
}

function groupCard(g) {
  const thumbs = el("div", { class: "dup-thumbs" },
    g.file_ids.slice(0, 4).map((id) => el("div", { class: "dup-thumb" + (id === g.keeper ? " keeper" : "") },
      picture(id, { alt: "" }), id === g.keeper ? icon("star", "recommended to keep") : null)));
  const decided = g.status === "resolved"
    ? el("span", { class: "muted" }, g.set_aside.length
      ? `kept ${g.kept.length}, set aside ${g.set_aside.length}` : "all kept (not duplicates)")
    : null;
  const card = el("a", {
    class: "dup-card", href: `?group=${g.group_id}`, dataset: { group: g.group_id },
    onclick: (ev) => { ev.preventDefault(); go({ group: g.group_id }); },
  },
  thumbs,
  el("div", { class: "dup-card-meta" },
    el("div", { class: "row" },
      el("strong", {}, `${g.size} ${g.kind === "exact" ? "identical copies" : "similar pictures"}`),
      el("span", { class: `badge ${g.kind === "exact" ? "high" : confidenceClass(g.confidence_label)}` },
        g.kind === "exact" ? "Exact" : `Similar · ${g.confidence_label}`)),
    el("div", { class: "dup-names muted" }, g.names.join(" · ")),
    decided,
    g.differences.length && g.kind === "similar"
      ? el("div", { class: "dup-diffnote" }, "Differ in " + g.differences.map(diffWord).join(", ")) : null));
  return el("div", { role: "listitem", class: "dup-card-item" }, card);  // a link may not be a list item itself
}

const confidenceClass = (label) => ({ high: "high", medium: "medium", low: "low" }[label] || "medium");
const DIFF_WORDS = { resolution: "size in pixels", bytes: "file size", format: "format", bit_depth: "bit depth",
  capture_time: "capture time", camera: "camera", gps: "location" };
const diffWord = (d) => DIFF_WORDS[d] || d;

// ---- one group side by side ----
async function showGroup(gid) {
  state.group = null; // no shortcut acts on the previous group while this one loads
  let g;
  try {
    g = await api(`/api/duplicates/${gid}`);
  } catch (e) {
    if (e.status === 404) {
      toast(`Group ${gid} no longer exists.`, { error: true });
      return go({ tab: state.tab }, { replace: true });
    }
    throw e;
  }
  state.group = g;
  state.ticked = new Set(g.members.filter((m) => m.decision === "keep" && g.status === "resolved").map((m) => m.file_id));
  selectTab(g.status === "resolved" ? "resolved" : g.kind);
  showOnly("group");
  const n = g.members.length;
  $("dup-group-title").textContent = `${n} ${g.kind === "exact" ? "identical copies" : "similar pictures"}`;
  const sub = [g.kind === "exact" ? "Exact copies: the same file, byte for byte"
    : `Similar: ${CONF_WORDS[g.confidence_label] || "alike"}`];
  sub.push(g.status === "resolved" ? "decided — you can change the decision" : `${fmtInt(g.open_groups)} ${g.open_groups === 1 ? "group" : "groups"} still open`);
  $("dup-group-sub").textContent = sub.join(" · ");
  $("dup-skip").disabled = !g.next_open;

  const keeper = g.members.find((m) => m.file_id === g.keeper);
  const keeperNo = g.members.indexOf(keeper) + 1;
  $("dup-keep-rec").disabled = !keeper;
  $("dup-keeper").replaceChildren(...[
    keeper
      ? el("div", {}, el("strong", {}, `We recommend keeping copy ${keeperNo}`), ` (${keeper.name})`,
        g.keeper_reasons.length ? ": " + g.keeper_reasons.join("; ") + "." : ".")
      : el("div", {}, el("strong", {}, "No copy can be recommended"), ": choose what to keep yourself."),
    g.keeper_notes.length ? el("div", { class: "muted" }, "Note: " + g.keeper_notes.join("; ") + ".") : null,
    g.differences.length
      ? el("div", { class: "muted" }, "Highlighted: what differs between the copies (" + g.differences.map(diffWord).join(", ") + ").")
      : el("div", { class: "muted" }, "The copies have the same facts; only where they are stored differs."),
  ].filter(Boolean));

  const box = $("dup-members");
  box.style.setProperty("--cols", String(Math.min(n, 4)));
  box.replaceChildren(...g.members.map((m, i) => memberCard(g, m, i)));
  updateTicked();
  const first = box.querySelector(".dup-member.recommended") || box.querySelector(".dup-member");
  first?.focus({ preventScroll: true });
}

function fact(label, value, differs, title) {
  return el("div", { class: "dup-fact" + (differs ? " differs" : ""), title },
    el("dt", {}, label), el("dd", {}, value ?? "—"));
}

function memberCard(g, m, i) {
  const diff = new Set(g.differences);
  const res = m.width && m.height ? `${m.width} × ${m.height}` + (m.megapixels ? ` (${m.megapixels} MP)` : "") : null;
  const fmt = (m.format || "?").toUpperCase() + (m.bit_depth ? ` · ${m.bit_depth}-bit` : "");
  const taken = m.capture_time
    ? fmtLocal(m.capture_time, m.precision || "second") + (m.has_capture_time ? "" : " (file date only)")
    : "No date";
  const tick = el("input", { type: "checkbox", class: "dup-tick", "aria-label": `Tick copy ${i + 1}` });
  tick.checked = state.ticked.has(m.file_id);
  tick.addEventListener("change", () => { toggleTick(m.file_id, tick.checked); });
  const status = m.decision === "keep" ? el("span", { class: "badge high" }, "Kept")
    : m.decision === "discard" ? el("span", { class: "badge none" }, "Set aside") : null;
  const card = el("div", {
    class: "dup-member" + (m.recommended_keeper ? " recommended" : "") + (m.decision === "discard" ? " discarded" : ""),
    role: "listitem", tabindex: "0", dataset: { file: m.file_id, index: i + 1 },
    "aria-label": `Copy ${i + 1}: ${m.name}`,
  },
  el("header", {},
    el("span", { class: "dup-no", title: `Press ${i + 1} to keep only this one` }, String(i + 1)),
    el("span", { class: "dup-name", title: m.path }, m.name),
    m.recommended_keeper ? el("span", { class: "badge reviewed" }, icon("star"), " Recommended") : null,
    status),
  el("div", { class: "dup-media" }, picture(m.file_id, { big: true, alt: m.name }),
    m.rotation ? el("span", { class: "dup-rot" }, `turned ${m.rotation}°`) : null),
  el("dl", { class: "dup-facts" },
    fact("Resolution", res, diff.has("resolution")),
    fact("File size", fmtBytes(m.bytes), diff.has("bytes")),
    fact("Format", fmt, diff.has("format") || diff.has("bit_depth")),
    fact("Taken", taken, diff.has("capture_time"), m.time_source ? `from ${m.time_source}` : undefined),
    fact("Camera", m.camera, diff.has("camera")),
    fact("Location", m.gps ? "GPS position" : "none", diff.has("gps")),
    fact("Tags", m.tags.length ? m.tags.join(", ") : "none", false),
    m.archived_as.length ? fact("Already archived", m.archived_as.join(", "), false) : null,
    fact("Where", m.path, false)),
  el("footer", {},
    el("label", { class: "row dup-tick-label" }, tick, "Tick"),
    el("span", { class: "spacer" }),
    el("button", { type: "button", class: "dup-keep-one", onclick: () => keep([m.file_id]) },
      "Keep this one ", el("span", { class: "kbd" }, String(i + 1)))));
  card.addEventListener("click", (ev) => {
    if (ev.target.closest("button, input, label")) return;
    card.focus();
  });
  return card;
}

function toggleTick(fileId, on) {
  if (on === undefined) on = !state.ticked.has(fileId);
  if (on) state.ticked.add(fileId); else state.ticked.delete(fileId);
  updateTicked();
}

function updateTicked() {
  for (const card of document.querySelectorAll(".dup-member")) {
    const on = state.ticked.has(Number(card.dataset.file));
    card.classList.toggle("ticked", on);
    card.querySelector(".dup-tick").checked = on;
  }
  const n = state.ticked.size;
  const btn = $("dup-keep-ticked");
  btn.disabled = n === 0;
  btn.firstChild.textContent = n ? `Keep the ${n} ticked ` : "Keep the ticked ones ";
}

async function keep(what) {
  const g = state.group;
  if (!g || state.busy) return;
  state.busy = true;
  try {
    const res = await api(`/api/duplicates/${g.group_id}/resolve`, { method: "POST", json: { keep: what } });
    const kept = res.group.members.filter((m) => m.decision === "keep").length;
    const aside = res.group.members.length - kept;
    toast(aside ? `Kept ${kept}, set aside ${aside}.` : "Kept all: marked as not duplicates.");
    await goOn(res.next_open);
  } catch (e) {
    toast(e.message, { error: true });
  } finally {
    state.busy = false;
  }
}

async function goOn(next) {
  if (next) return go({ group: next });
  state.group = null;
  toast("Every group is decided. Well done!");
  return go({ tab: "resolved" });
}

// ---- keyboard ----
document.addEventListener("keydown", (ev) => {
  if ($("dup-group-view").hidden || !state.group) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (document.querySelector("dialog[open]")) return;
  const t = ev.target;
  const inField = t instanceof HTMLElement && (t.matches("input[type=text], textarea, select") || t.isContentEditable);
  if (inField) return;
  const onControl = t instanceof HTMLElement && t.matches("button, a, input");
  const key = ev.key;
  const g = state.group;
  if (key === "Enter" && !onControl) { ev.preventDefault(); keep("recommended"); }
  else if (/^[1-9]$/.test(key)) {
    const m = g.members[Number(key) - 1];
    if (m) { ev.preventDefault(); keep([m.file_id]); }
  } else if ((key === " " && !onControl) || key === "x" || key === "X") {
    const card = t instanceof HTMLElement ? t.closest(".dup-member") : null;
    if (card) { ev.preventDefault(); toggleTick(Number(card.dataset.file)); }
  } else if (key === "k" || key === "K") {
    if (state.ticked.size) { ev.preventDefault(); keep([...state.ticked]); }
  } else if (key === "a" || key === "A") { ev.preventDefault(); keep("all"); }
  else if (key === "ArrowRight" || key === "n" || key === "N") {
    if (g.next_open) { ev.preventDefault(); go({ group: g.next_open }); }
  } else if (key === "Escape") { ev.preventDefault(); go({ tab: g.status === "resolved" ? "resolved" : g.kind }); }
});

// ---- set-aside files ----
async function showAside(append = false) {
  showOnly("aside");
  const body = $("aside-rows");
  const p = new URLSearchParams({ limit: "100" });
  if (append && state.asideAfter) p.set("after", state.asideAfter);
  const data = await api("/api/duplicates/set-aside?" + p);
  if (!append) { body.replaceChildren(); $("aside-all").checked = false; }
  for (const f of data.files) body.append(asideRow(f));
  state.asideAfter = data.next_after;
  $("aside-more").hidden = !data.next_after;
  if (!body.children.length) {
    body.append(el("tr", {}, el("td", { colspan: "5", class: "empty-state" }, "No file is set aside.")));
  }
  updateAsideSelection();
}

function asideRow(f) {
  const box = el("input", { type: "checkbox", class: "aside-pick", "aria-label": `Select ${f.name}`, dataset: { file: f.file_id } });
  box.addEventListener("change", updateAsideSelection);
  const size = f.width && f.height ? `${f.width} × ${f.height} · ` : "";
  return el("tr", { dataset: { file: f.file_id } },
    el("td", {}, box),
    el("td", { class: "aside-file" },
      el("div", { class: "dup-thumb" }, picture(f.file_id, { alt: "" })),
      el("div", {}, el("div", { class: "dup-name" }, f.name), el("div", { class: "muted small-path" }, f.path),
        el("div", { class: "muted" }, size + fmtBytes(f.bytes)))),
    el("td", { class: "aside-arrow", "aria-hidden": "true" }, "→"),
    el("td", { class: "aside-kept" }, f.kept_instead.length
      ? f.kept_instead.map((k) => el("div", { class: "aside-file" },
        el("div", { class: "dup-thumb" }, picture(k.file_id, { alt: "" })),
        el("div", {}, el("div", { class: "dup-name" }, k.name), el("div", { class: "muted small-path" }, k.path))))
      : el("span", { class: "muted" }, "no copy kept")),
    el("td", {}, el("button", { type: "button", class: "aside-restore", onclick: () => restore([f.file_id]) }, "Restore")));
}

function selectedAside() {
  return [...document.querySelectorAll(".aside-pick:checked")].map((b) => Number(b.dataset.file));
}

function updateAsideSelection() {
  const n = selectedAside().length;
  const btn = $("aside-restore-sel");
  btn.disabled = n === 0;
  btn.textContent = n ? `Restore the ${n} selected files` : "Restore the selected files";
}

async function restore(ids) {
  if (!ids.length || state.busy) return;
  state.busy = true;
  try {
    const res = await api("/api/duplicates/restore", { method: "POST", json: { file_ids: ids } });
    toast(`${res.restored.length === 1 ? "1 file is" : res.restored.length + " files are"} kept again and will be exported.`);
    await loadCounts();
    await showAside();
  } catch (e) {
    toast(e.message, { error: true });
  } finally {
    state.busy = false;
  }
}

// ---- bulk accept ----
async function acceptExact() {
  const counts = await loadCounts();
  const n = counts.exact;
  if (!n) { toast("No exact copies wait for a decision."); return; }
  const dlg = $("dup-confirm");
  $("dup-confirm-n").textContent = fmtInt(n);
  $("dup-confirm-text").textContent = `In each of the ${fmtInt(n)} groups of identical files, the recommended copy ` +
    "is kept and the other copies are set aside (not exported). Tags and dates of the set-aside copies move to the kept one.";
  dlg.returnValue = "";
  dlg.showModal();
  dlg.addEventListener("close", async () => {
    if (dlg.returnValue !== "ok") return;
    try {
      const res = await api("/api/duplicates/accept-exact", { method: "POST", json: { confirm: true, expected: n } });
      toast(`Accepted for ${fmtInt(res.groups)} groups: ${fmtInt(res.set_aside)} copies set aside.`);
      await go({ tab: res.counts.similar ? "similar" : "set-aside" }, { replace: true });
    } catch (e) {
      toast(e.message, { error: true });
      await render();
    }
  }, { once: true });
}

// ---- wiring ----
for (const b of document.querySelectorAll("#dup-tabs [data-tab]")) {
  b.addEventListener("click", () => go({ tab: b.dataset.tab }));
}
$("dup-back").addEventListener("click", () => {
  const g = state.group;
  go({ tab: g ? (g.status === "resolved" ? "resolved" : g.kind) : state.tab });
});
$("dup-skip").addEventListener("click", () => { if (state.group?.next_open) go({ group: state.group.next_open }); });
$("dup-keep-rec").addEventListener("click", () => keep("recommended"));
$("dup-keep-ticked").addEventListener("click", () => keep([...state.ticked]));
$("dup-keep-all").addEventListener("click", () => keep("all"));
$("dup-more").addEventListener("click", () => showList(true).catch((e) => toast(e.message, { error: true })));
$("aside-more").addEventListener("click", () => showAside(true).catch((e) => toast(e.message, { error: true })));
$("dup-accept-exact").addEventListener("click", () => acceptExact().catch((e) => toast(e.message, { error: true })));
$("aside-all").addEventListener("change", (ev) => {
  for (const b of document.querySelectorAll(".aside-pick")) b.checked = ev.target.checked;
  updateAsideSelection();
});
$("aside-restore-sel").addEventListener("click", () => restore(selectedAside()));

render();
