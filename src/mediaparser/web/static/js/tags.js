// The tags page: every tag with its use count (most used first), a filter,
// a link to the review grid showing the tag's files, and inline rename —
// renaming onto an existing tag asks first, then merges the two.
import { api, el, fmtInt, toast } from "./common.js";

const PAGE = 200;
const $ = (id) => document.getElementById(id);
const rows = $("tag-rows");
const plural = (n, word) => `${fmtInt(n)} ${word}${n === 1 ? "" : "s"}`;

let query = "";
let loaded = 0;
let generation = 0;

async function load({ more = false } = {}) {
  const gen = more ? generation : ++generation;
  const offset = more ? loaded : 0;
  try {
    const data = await api(`/api/tags/list?limit=${PAGE}&offset=${offset}&q=${encodeURIComponent(query)}`);
    if (gen !== generation) return;
    if (!more) { rows.replaceChildren(); loaded = 0; }
    rows.append(...data.tags.map(row));
    loaded += data.tags.length;
    $("tag-count").textContent = query ? `${plural(data.total, "tag")} matching “${query}”` : plural(data.total, "tag");
    const end = $("tag-more");
    end.replaceChildren();
    if (!data.total) {
      end.append(el("p", { class: "empty-state", text: query ? "No tag matches this filter."
        : "No tags yet. They come from folder names and {…} groups in file names when you import, or add them to a selection in the review." }));
    } else if (loaded < data.total) {
      end.append(el("button", { type: "button", onclick: () => load({ more: true }) }, `Show more (${fmtInt(data.total - loaded)} left)`));
    }
  } catch (e) {
    toast(e.message, { error: true });
  }
}

function row(t) {
  const tr = el("tr", { "data-tag": t.name });
  fill(tr, t);
  return tr;
}

function fill(tr, t) {
  tr.replaceChildren(
    el("td", { class: "name" }, el("span", { class: "tag-chip", title: t.name }, el("span", { class: "n", text: t.name }))),
    el("td", { class: "num", "data-unit": t.uses === 1 ? "file" : "files", text: fmtInt(t.uses) }),
    el("td", { class: "acts" },
      el("a", { class: "button small", href: `/review?tag=${encodeURIComponent(t.name)}`, title: `Open the review grid with the files tagged ${t.name}` }, "Show files"),
      el("button", { type: "button", class: "small", onclick: () => edit(tr, t) }, "Rename")),
  );
}

function edit(tr, t) {
  const input = el("input", { type: "text", value: t.name, "aria-label": `New name for ${t.name}`, autocomplete: "off", spellcheck: "false" });
  const save = el("button", { type: "button", class: "small primary" }, "Save");
  const cancel = el("button", { type: "button", class: "small" }, "Cancel");
  const done = () => fill(tr, t);
  save.addEventListener("click", () => rename(tr, t, input.value));
  cancel.addEventListener("click", done);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); rename(tr, t, input.value); }
    else if (e.key === "Escape") { e.preventDefault(); done(); tr.querySelector("button").focus(); }
  });
  tr.classList.add("editing");
  tr.replaceChildren(
    el("td", { class: "name" }, input),
    el("td", { class: "num", text: fmtInt(t.uses) }),
    el("td", { class: "acts" }, save, cancel),
  );
  input.focus();
  input.select();
}

function askMerge(plan) {
  const dlg = $("merge-dialog");
  $("merge-title").textContent = `Merge “${plan.from}” into “${plan.to}”? ${plural(plan.files, "file")}`;
  $("merge-text").textContent = `The ${plural(plan.files, "file")} tagged “${plan.from}” will be tagged “${plan.to}” instead;`
    + ` “${plan.to}” is on ${plural(plan.into_files, "file")} now. “${plan.from}” then no longer exists.`;
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "merge"), { once: true });
    dlg.returnValue = "";
    dlg.showModal();
    $("merge-ok").focus();
  });
}

async function rename(tr, t, wanted) {
  const to = wanted.trim();
  if (!to) { toast("Give the new name.", { error: true }); return; }
  try {
    const plan = await api("/api/tags/rename", { method: "POST", json: { from: t.name, to, dry_run: true } });
    if (plan.from === plan.to) { fill(tr, t); return; }
    if (plan.merged && !(await askMerge(plan))) return;
    const res = await api("/api/tags/rename", { method: "POST", json: { from: t.name, to } });
    toast(res.merged ? `Merged “${res.from}” into “${res.to}”: ${plural(res.files, "file")} moved over.`
      : `Renamed “${res.from}” to “${res.to}” on ${plural(res.files, "file")}.`);
    await load();
  } catch (e) {
    toast(e.message, { error: true });
  }
}

let timer = null;
$("tag-filter").addEventListener("input", (e) => {
  clearTimeout(timer);
  timer = setTimeout(() => { query = e.target.value.trim(); load(); }, 180);
});

load();
