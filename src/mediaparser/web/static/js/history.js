// The history page: every review decision, with undo.
import { api, el, fmtInt, fmtLocal, fmtWhen, toast } from "./common.js";

const body = document.getElementById("history-body");
const more = document.getElementById("history-more");
let rows = [];
let nextBefore = null;

function row(b) {
  const details = el("div", { class: "muted" });
  const undone = b.undone_at !== null;
  const showFiles = el("button", { type: "button", class: "small", onclick: async () => {
    const data = await api(`/api/review/batches/${b.id}`);
    details.replaceChildren(...data.files.map((f) => el("div", {},
      el("a", { href: `/review?open=${f.file_id}` }, f.path.split("/").pop()),
      `: ${fmtLocal(f.before)} → ${fmtLocal(f.after)}`)),
    data.file_count > data.files.length ? el("div", { text: `…and ${fmtInt(data.file_count - data.files.length)} more` }) : null);
    showFiles.remove();
  } }, "Which files?");
  return el("tr", { class: undone ? "undone" : "", "data-batch": b.id },
    el("td", { text: fmtWhen(b.at) }),
    el("td", {}, el("span", { class: "summary", text: b.summary }),
      undone ? el("div", { class: "muted", text: `Undone ${fmtWhen(b.undone_at)}` }) : null, details),
    el("td", {}, fmtInt(b.file_count), " ", b.file_count ? showFiles : null),
    el("td", { text: b.actor + (b.remote_addr ? ` (${b.remote_addr})` : "") }),
    el("td", {}, !undone && b.file_count ? el("button", { type: "button", onclick: () => undo(b.id) }, "Undo") : null));
}

async function undo(id) {
  try {
    const res = await api(`/api/review/batches/${id}/undo`, { method: "POST", json: {} });
    toast([`Undone: ${fmtInt(res.changed)} file${res.changed === 1 ? "" : "s"} back as before.`, ...res.notes].join(" "));
    rows = [];
    nextBefore = null;
    load();
  } catch (e) {
    toast(e.message, { error: true });
  }
}

async function load() {
  const data = await api(`/api/review/batches?limit=50${nextBefore ? `&before=${nextBefore}` : ""}`);
  rows = rows.concat(data.batches);
  nextBefore = data.next_before;
  body.replaceChildren(...(rows.length ? rows.map(row) : [el("tr", {}, el("td", { colspan: 5, class: "muted",
    text: "No changes yet. When you confirm, set or shift dates in Review, each change shows up here." }))]));
  more.hidden = !nextBefore;
}
more.addEventListener("click", load);
load().catch((e) => toast(e.message, { error: true }));
