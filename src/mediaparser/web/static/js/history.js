// The history page: every decision (dates, tags, duplicates, restores, undos), with undo.
import { api, el, fmtInt, fmtLocal, fmtWhen, toast } from "./common.js";

const body = document.getElementById("history-body");
const more = document.getElementById("history-more");
let rows = [];
let nextBefore = null;

// What kind of decision a batch is, in one or two words (the summary says the rest).
const KINDS = {
  confirm: "Date", clear: "Date", set_date: "Date", shift: "Date", pick: "Date",
  tag_add: "Tags", tag_remove: "Tags", tag_rename: "Tags", tag_merge: "Tags",
  dup_resolve: "Duplicates", dup_accept: "Duplicates", dup_restore: "Set aside", burst_keep: "Burst",
  undo: "Undo",
};

function fileLine(f) {
  const name = (f.path || `file ${f.file_id}`).split("/").pop();
  const change = f.change !== null && f.change !== undefined ? f.change : `${fmtLocal(f.before, f.before_precision || "second")} → ${fmtLocal(f.after, f.after_precision || "second")}`;
  return el("div", { class: "history-file" }, el("a", { href: `/review?open=${f.file_id}` }, name), `: ${change}`);
}

async function showFiles(b, details, button) {
  const data = await api(`/api/review/batches/${b.id}`);
  const lines = data.files.map(fileLine);
  if (data.about) lines.unshift(el("div", { text: data.about }));
  if (data.file_count > data.files.length && data.files.length) {
    lines.push(el("div", { text: `…and ${fmtInt(data.file_count - data.files.length)} more` }));
  }
  if (!lines.length) lines.push(el("div", { text: "These files are no longer in the library." }));
  details.replaceChildren(...lines);
  button.remove();
}

function row(b) {
  const details = el("div", { class: "muted history-details" });
  const undone = b.undone_at !== null;
  const filesButton = el("button", { type: "button", class: "small" }, "Which files?");
  filesButton.addEventListener("click", () => showFiles(b, details, filesButton).catch((e) => toast(e.message, { error: true })));
  const refusal = el("div", { class: "history-refused", role: "status", hidden: true });
  const kind = KINDS[b.action] || "Change";
  return el("tr", { class: undone ? "undone" : "", "data-batch": b.id, "data-action": b.action },
    el("td", { text: fmtWhen(b.at) }),
    el("td", {}, el("span", { class: "history-kind", text: kind }), " ", el("span", { class: "summary", text: b.summary }),
      undone ? el("div", { class: "muted", text: `Undone ${fmtWhen(b.undone_at)}` }) : null, details, refusal),
    el("td", {}, fmtInt(b.file_count), " ", b.file_count ? filesButton : null),
    el("td", { text: b.actor + (b.remote_addr ? ` (${b.remote_addr})` : "") }),
    el("td", {}, !undone && b.file_count
      ? el("button", { type: "button", class: "history-undo", onclick: () => undo(b.id, refusal),
        title: b.action === "undo" ? "Undo this undo: make the change again" : null },
      b.action === "undo" ? "Redo" : "Undo") : null));
}

async function undo(id, refusal) {
  try {
    const res = await api(`/api/review/batches/${id}/undo`, { method: "POST", json: {} });
    toast([`Undone: ${res.summary.replace(/^Undid: /, "")}.`, ...res.notes].join(" "));
    rows = [];
    nextBefore = null;
    load();
  } catch (e) {
    // A refusal (409) says which later decision changed the same things: keep it beside the row.
    if (e.status === 409) {
      refusal.textContent = e.message;
      refusal.hidden = false;
    }
    toast(e.message, { error: true });
  }
}

async function load() {
  const data = await api(`/api/review/batches?limit=50${nextBefore ? `&before=${nextBefore}` : ""}`);
  rows = rows.concat(data.batches);
  nextBefore = data.next_before;
  body.replaceChildren(...(rows.length ? rows.map(row) : [el("tr", {}, el("td", { colspan: 5, class: "muted",
    text: "No changes yet. When you set dates, tag files or decide about duplicates, each decision shows up here." }))]));
  more.hidden = !nextBefore;
}
more.addEventListener("click", load);
load().catch((e) => toast(e.message, { error: true }));
