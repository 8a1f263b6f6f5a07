// The import page: uploads (drop zone, choose files/folder) and the server-folder browser.
import { api, ApiError, el, fmtBytes, fmtInt, icon, toast } from "./common.js";

const zone = document.getElementById("dropzone");
const LIMITS = {
  chunk: +zone.dataset.chunk,
  maxFiles: +zone.dataset.maxFiles,
  maxFile: +zone.dataset.maxFile,
  registerBatch: +zone.dataset.registerBatch,
};
const PARALLEL = 3; // files sent at the same time
const RETRIES = 6;
const RESUME_KEY = "mediaparser.unfinishedUploads";
let batchNo = 0;
const running = new Set();

// ---- collecting files (with their relative paths) ---------------------
async function readDirectory(entry) {
  const reader = entry.createReader();
  const out = [];
  for (;;) {
    const chunk = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!chunk.length) break;
    out.push(...chunk);
  }
  return out;
}

async function walkEntry(entry, files) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    files.push({ file, path: entry.fullPath.replace(/^\/+/, "") });
  } else if (entry.isDirectory) {
    for (const child of await readDirectory(entry)) await walkEntry(child, files);
  }
}

async function filesFromDrop(dataTransfer) {
  const files = [];
  const entries = [...dataTransfer.items].map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null));
  if (entries.some(Boolean)) {
    for (const entry of entries) if (entry) await walkEntry(entry, files);
  } else {
    for (const file of dataTransfer.files) files.push({ file, path: file.name });
  }
  return files;
}

// ---- resuming after a reload ------------------------------------------
function signature(files) {
  const total = files.reduce((n, f) => n + f.file.size, 0);
  const first = files.map((f) => f.path).sort().slice(0, 3).join("|");
  return `${files.length}:${total}:${first}`;
}
const loadUnfinished = () => { try { return JSON.parse(localStorage.getItem(RESUME_KEY) || "{}"); } catch { return {}; } };
function remember(sig, id) {
  const all = loadUnfinished();
  if (id) all[sig] = { id, at: Date.now() }; else delete all[sig];
  for (const [k, v] of Object.entries(all)) if (Date.now() - v.at > 7 * 86400e3) delete all[k];
  localStorage.setItem(RESUME_KEY, JSON.stringify(all));
}

// ---- one batch: create, register, send, finish -----------------------
class Batch {
  constructor(files) {
    this.no = ++batchNo;
    this.files = files;
    this.total = files.reduce((n, f) => n + f.file.size, 0);
    this.sent = 0;
    this.problems = [];
    this.abort = new AbortController();
    this.sig = signature(files);
    this.bar = el("div");
    this.status = el("p", { class: "status", text: "Getting ready…" });
    this.problemList = el("ul", { class: "problems", hidden: true });
    this.cancelBtn = el("button", { class: "small danger", type: "button", onclick: () => this.cancel() }, "Cancel");
    this.node = el("li", { class: "batch", "data-batch": this.no },
      el("div", { class: "row" },
        el("strong", { text: `Batch ${this.no}: ${fmtInt(files.length)} file${files.length === 1 ? "" : "s"}, ${fmtBytes(this.total)}` }),
        this.cancelBtn),
      el("div", { class: "progress" }, this.bar), this.status, this.problemList);
    document.getElementById("batches").prepend(this.node);
  }

  say(text) { this.status.textContent = text; }
  problem(text) {
    this.problems.push(text);
    this.problemList.hidden = false;
    if (this.problems.length <= 20) this.problemList.append(el("li", { text }));
  }
  progress() {
    const pct = this.total ? (100 * this.sent) / this.total : 100;
    this.bar.style.width = `${pct.toFixed(1)}%`;
  }

  async run() {
    running.add(this);
    try {
      const previous = loadUnfinished()[this.sig];
      if (previous) {
        try {
          const info = await api(`/api/uploads/${previous.id}`);
          if (info.status === "open") this.id = previous.id;
        } catch { /* gone: start afresh */ }
      }
      if (this.id) this.say("Continuing an earlier upload of these files…");
      else this.id = (await api("/api/uploads", { method: "POST", json: {} })).id;
      remember(this.sig, this.id);
      const queue = await this.register();
      this.say(`Sending ${fmtInt(queue.length)} file${queue.length === 1 ? "" : "s"}…`);
      this.progress();
      const workers = Array.from({ length: PARALLEL }, () => this.sendWorker(queue));
      await Promise.all(workers);
      if (this.abort.signal.aborted) return;
      this.say("All files sent. Starting the import…");
      const arrived = this.files.length - this.problems.length;
      if (arrived <= 0) throw new ApiError("None of the files could be sent.", 400);
      const { job_id } = await api(`/api/uploads/${this.id}/finish`, { method: "POST", json: { skip_incomplete: this.problems.length > 0 } });
      remember(this.sig, null);
      this.bar.parentElement.classList.add("done");
      this.cancelBtn.remove();
      this.status.replaceChildren("Import started. ", el("a", { href: `/jobs/${job_id}` }, `See its progress (job ${job_id})`));
      running.delete(this);
      if (running.size === 0) window.location.href = `/jobs/${job_id}`;
    } catch (e) {
      if (this.abort.signal.aborted) return;
      this.bar.parentElement.classList.add("failed");
      this.say(`Stopped: ${e.message}`);
      toast(`Upload stopped: ${e.message}`, { error: true });
    } finally {
      running.delete(this);
    }
  }

  async register() {
    const queue = [];
    for (let i = 0; i < this.files.length; i += LIMITS.registerBatch) {
      const part = this.files.slice(i, i + LIMITS.registerBatch);
      const body = { files: part.map((f) => ({ path: f.path, size: f.file.size, last_modified: Math.max(0, Math.round(f.file.lastModified || 0)) })) };
      const res = await this.retrying(() => api(`/api/uploads/${this.id}/files`, { method: "POST", json: body, signal: this.abort.signal }));
      for (const r of res.files) {
        const item = part[r.index];
        if (r.error) { this.problem(`${item.path}: ${r.error}`); continue; }
        item.id = r.id;
        item.received = r.received;
        this.sent += r.received;
        if (!r.complete) queue.push(item);
      }
      this.say(`Preparing… ${fmtInt(Math.min(i + part.length, this.files.length))} of ${fmtInt(this.files.length)} files listed`);
    }
    return queue;
  }

  async sendWorker(queue) {
    while (queue.length && !this.abort.signal.aborted) {
      const item = queue.shift();
      try {
        await this.sendFile(item);
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.problem(`${item.path}: ${e.message}`);
      }
    }
  }

  async sendFile(item) {
    let offset = item.received || 0;
    const size = item.file.size;
    while (offset < size) {
      const end = Math.min(offset + LIMITS.chunk, size);
      const blob = item.file.slice(offset, end);
      const res = await this.retrying(async () => {
        try {
          return await api(`/api/uploads/${this.id}/files/${item.id}?offset=${offset}`, {
            method: "PUT", body: blob, headers: { "Content-Type": "application/octet-stream" }, signal: this.abort.signal,
          });
        } catch (e) {
          // The server holds a different amount than we thought: continue from there.
          if (e instanceof ApiError && (e.status === 409 || e.status === 416) && e.body && e.body.received !== undefined) {
            return { received: e.body.received, resync: true };
          }
          throw e;
        }
      });
      this.sent += res.received - offset;
      offset = res.received;
      this.progress();
      this.say(`Sending… ${fmtBytes(this.sent)} of ${fmtBytes(this.total)}`);
      if (res.complete) break;
    }
  }

  async retrying(fn) {
    let wait = 500;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const retryable = !(e instanceof ApiError) || e.status >= 500 && e.status !== 507;
        if (this.abort.signal.aborted || !retryable || attempt >= RETRIES) throw e;
        this.say(`Connection problem, trying again in ${Math.round(wait / 1000)} s…`);
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 15000);
      }
    }
  }

  async cancel() {
    if (!confirm("Stop this upload and throw away what was already sent?")) return;
    this.abort.abort();
    running.delete(this);
    this.say("Cancelled.");
    this.cancelBtn.remove();
    if (this.id) {
      try { await api(`/api/uploads/${this.id}/discard`, { method: "POST", json: {} }); } catch { /* already gone */ }
      remember(this.sig, null);
    }
  }
}

function start(files) {
  if (!files.length) { toast("No files found in what was dropped.", { error: true }); return; }
  const tooBig = files.filter((f) => f.file.size > LIMITS.maxFile);
  if (tooBig.length) {
    toast(`${tooBig.length} file(s) are larger than ${fmtBytes(LIMITS.maxFile)} and were left out.`, { error: true });
    files = files.filter((f) => f.file.size <= LIMITS.maxFile);
  }
  // Very large drops go as several batches (each its own import).
  for (let i = 0; i < files.length; i += LIMITS.maxFiles) new Batch(files.slice(i, i + LIMITS.maxFiles)).run();
}

zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", async (e) => {
  e.preventDefault();
  zone.classList.remove("over");
  start(await filesFromDrop(e.dataTransfer));
});
const fileInput = document.getElementById("file-input");
const folderInput = document.getElementById("folder-input");
document.getElementById("choose-files").addEventListener("click", () => fileInput.click());
document.getElementById("choose-folder").addEventListener("click", () => folderInput.click());
fileInput.addEventListener("change", () => { start([...fileInput.files].map((file) => ({ file, path: file.name }))); fileInput.value = ""; });
folderInput.addEventListener("change", () => {
  start([...folderInput.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
  folderInput.value = "";
});
zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); } });
window.addEventListener("beforeunload", (e) => { if (running.size) { e.preventDefault(); e.returnValue = ""; } });

// ---- the server-folder browser ---------------------------------------
const browser = document.getElementById("browser");
if (browser) {
  const crumbs = document.getElementById("crumbs");
  const list = document.getElementById("folder-list");
  const info = document.getElementById("folder-info");
  const importBtn = document.getElementById("import-folder");
  const errorBox = document.getElementById("folder-error");
  let current = null;

  async function showRoots() {
    const { roots } = await api("/api/folders");
    if (roots.length === 1) return open(0, "");
    current = null;
    crumbs.replaceChildren(el("span", { text: "Folders you may import from" }));
    list.replaceChildren(...roots.map((r) => el("li", {}, el("button", { type: "button", onclick: () => open(r.root, "") }, icon("folder"), el("span", { class: "fname", text: r.path })))));
    info.textContent = "Choose a folder.";
    importBtn.disabled = true;
  }

  async function open(root, path) {
    errorBox.hidden = true;
    try {
      const data = await api(`/api/folders/${root}?path=${encodeURIComponent(path)}`);
      current = data;
      const parts = [];
      data.breadcrumbs.forEach((c, i) => {
        if (i) parts.push(el("span", { class: "sep", "aria-hidden": "true" }, icon("next")));
        parts.push(el("button", { type: "button", onclick: () => open(root, c.path) }, c.name));
      });
      crumbs.replaceChildren(...parts);
      const items = [];
      if (data.parent !== null) items.push(el("li", {}, el("button", { type: "button", onclick: () => open(root, data.parent) }, icon("up"), "Up one level")));
      for (const f of data.folders) items.push(el("li", {}, el("button", { type: "button", "data-folder": f.name, onclick: () => open(root, f.path) }, icon("folder"), el("span", { class: "fname", text: f.name }))));
      if (!data.folders.length) items.push(el("li", { class: "empty", text: "No folders inside." }));
      list.replaceChildren(...items);
      info.replaceChildren(el("strong", { text: data.absolute }), el("br"),
        `${fmtInt(data.media_here)} photo or video file${data.media_here === 1 ? "" : "s"} directly in this folder` +
        (data.folders.length ? `, and ${fmtInt(data.folders.length)} folder${data.folders.length === 1 ? "" : "s"} inside (imported too).` : "."),
        ...(data.takeout_parts ? [el("br"), el("span", { class: "takeout-note", text:
          `${fmtInt(data.takeout_parts)} Google Takeout part${data.takeout_parts === 1 ? "" : "s"} here: no need to unpack ${data.takeout_parts === 1 ? "it" : "them"}. The photos inside are unpacked once into MediaParser's own folder and imported; the part${data.takeout_parts === 1 ? " is" : "s are"} only read.` })] : []));
      importBtn.disabled = false;
    } catch (e) {
      errorBox.textContent = e.message;
      errorBox.hidden = false;
    }
  }

  importBtn.addEventListener("click", async () => {
    if (!current) return;
    importBtn.disabled = true;
    try {
      const job = await api("/api/jobs", { method: "POST", json: { type: "import", path: current.absolute, force: document.getElementById("force").checked } });
      window.location.href = `/jobs/${job.id}`;
    } catch (e) {
      errorBox.textContent = e.message;
      errorBox.hidden = false;
      importBtn.disabled = false;
    }
  });
  showRoots().catch((e) => { info.textContent = e.message; });
}

// ---- "Where were most of these taken?" (asked once, until a person answers) ----
const zoneQuestion = document.getElementById("zone-question");
if (zoneQuestion) {
  document.getElementById("zone-save").addEventListener("click", async () => {
    const result = document.getElementById("zone-result");
    try {
      const r = await api("/api/settings", { method: "POST", json: { timezone: document.getElementById("zone-choice").value } });
      zoneQuestion.hidden = true;
      toast(`Time zone ${r.timezone.replaceAll("_", " ")} saved; change it any time in Settings.`);
    } catch (err) {
      result.textContent = err.message;
      result.className = "bad";
    }
  });
}
