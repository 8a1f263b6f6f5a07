// The jobs list and one job's live progress panel (light polling: the page
// can be reloaded or closed at any time, the job lives on the server).
// STATE_WORDS, FINISHED, progressBar and wireControls are shared with the export page (export.js).
import { api, checkWorker, el, errorWhy, fmtDuration, fmtInt, fmtWhen, toast } from "./common.js";

export const STATE_WORDS = {
  PENDING: "waiting", RUNNING: "running", PAUSED: "paused", COMPLETED: "finished", FAILED: "failed", CANCELLED: "cancelled",
};
export const FINISHED = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

/** Pause, Resume and Cancel buttons (element ids) for the job `jobId()`; `after(job)` shows the answer. */
export function wireControls(jobId, after, { pause, resume, cancel, cancelQuestion }) {
  async function control(action) {
    try {
      after(await api(`/api/jobs/${jobId()}/${action}`, { method: "POST", json: {} }));
    } catch (e) {
      toast(e.message, { error: true });
    }
  }
  document.getElementById(pause).addEventListener("click", () => control("pause"));
  document.getElementById(resume).addEventListener("click", () => control("resume"));
  document.getElementById(cancel).addEventListener("click", () => { if (confirm(cancelQuestion)) control("cancel"); });
}

/** What a job works on, in words: "Export of import #3 to /archive", "Import of /photos/2019",
 * "Files uploaded from a computer". */
export function describeJob(job, uploadDir) {
  if (job.type === "export") {
    const what = job.import_job_id ? `Export of import #${job.import_job_id}` : "Export";
    return job.output ? `${what} to ${job.output}` : what;
  }
  if (!job.path) return "";
  if (uploadDir && job.path.startsWith(uploadDir)) return "Files uploaded from a computer";
  return `Import of ${job.path}`;
}

// The duration's label by state: "Running for 12 s" while it runs, "Finished in 12 s" once it has ended.
const ENDED_WORDS = { COMPLETED: "Finished in", FAILED: "Failed after", CANCELLED: "Cancelled after", PAUSED: "Ran for" };
export const elapsedLabel = (status) => ENDED_WORDS[status] || "Running for";

export function progressBar(job, big = false) {
  const p = job.progress;
  const pct = p.total ? (100 * p.current) / p.total : 0;
  const bar = el("div");
  bar.style.width = `${job.status === "COMPLETED" ? 100 : pct}%`;
  const cls = ["progress", big ? "big" : "", job.status === "COMPLETED" ? "done" : "",
    job.status === "FAILED" || job.status === "CANCELLED" ? "failed" : "", job.status === "PAUSED" ? "paused" : "",
    p.counting && job.status === "RUNNING" ? "counting" : ""].filter(Boolean).join(" ");
  return el("div", { class: cls }, bar);
}

// ---- the list ----------------------------------------------------------
const table = document.getElementById("jobs-table");
if (table) {
  const body = document.getElementById("jobs-body");
  const uploadDir = table.dataset.uploadDir;
  let older = [];
  let nextBefore = null;

  // data-label names each cell when a phone shows a row as a card (app.css).
  const row = (j) => el("tr", { class: "clickable", "data-job": j.id, onclick: () => { window.location.href = `/jobs/${j.id}`; } },
    el("td", { class: "job-id", "data-label": "Job" }, el("a", { href: `/jobs/${j.id}` }, `#${j.id}`)),
    el("td", { class: "what", "data-label": "What" }, describeJob(j, uploadDir)),
    el("td", { "data-label": "State" }, el("span", { class: `pill ${j.status}`, text: STATE_WORDS[j.status] || j.status })),
    el("td", { class: "progress-cell", "data-label": "Progress" }, progressBar(j),
      el("span", { class: "muted", text: j.progress.counting ? `${fmtInt(j.progress.total)} found so far…` : `${fmtInt(j.progress.current)} of ${fmtInt(j.progress.total)}` })),
    el("td", { "data-label": "Problems" }, j.error_count ? el("span", { class: "bad", text: fmtInt(j.error_count) }) : "—"),
    el("td", { class: "muted", "data-label": "Started", text: fmtWhen(j.started_at || j.created_at) }));

  async function refresh() {
    try {
      const data = await api("/api/jobs?limit=50");
      if (nextBefore === null) nextBefore = data.next_before;
      const rows = [...data.jobs, ...older].map(row);
      body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, class: "muted" },
        "No jobs yet. ", el("a", { href: "/import" }, "Import some photos"), " to start one."))]));
      document.getElementById("jobs-more").hidden = !nextBefore;
    } catch (e) {
      toast(e.message, { error: true });
    }
  }
  document.getElementById("jobs-more-btn").addEventListener("click", async () => {
    const data = await api(`/api/jobs?limit=50&before=${nextBefore}`);
    older = older.concat(data.jobs);
    nextBefore = data.next_before;
    refresh();
  });
  refresh();
  setInterval(refresh, 2000);
}

// ---- one job -----------------------------------------------------------
const panel = document.getElementById("job");
if (panel) {
  const id = panel.dataset.jobId;
  const uploadDir = panel.dataset.uploadDir;
  const $ = (s) => document.getElementById(s);
  const shownErrors = new Map();
  let lastErrorId = 0;
  let timer = null;
  let lastStatus = null;

  function explain(job) {
    if (job.type === "export") {
      switch (job.status) {
        case "RUNNING": return "Copying each file into the archive and checking the copy. You can pause at any time; nothing is lost.";
        case "PAUSED": return "Paused. Files already copied stay in the archive; Resume continues with the rest.";
        case "COMPLETED": return "Finished. The export page shows what went where.";
        case "CANCELLED": return "Cancelled. Files copied before the cancel stay in the archive.";
        default: break;
      }
    }
    switch (job.status) {
      case "PENDING": return "Waiting for the background worker to take this job. It starts within a few seconds when a worker is running.";
      case "RUNNING": return job.progress.counting
        ? "Listing the files first, then reading each one. You can pause at any time; nothing is lost."
        : "Reading each file: type, size, camera, every date it carries, a thumbnail. Pausing takes effect within a second; Resume continues where it stopped.";
      case "PAUSED": return "Paused. Files already read are kept; Resume continues with the rest.";
      case "COMPLETED": return job.error_count
        ? "Finished. Some files could not be read; they are listed below with the reason."
        : "Finished. Every file was read. Next: review the dates.";
      case "CANCELLED": return "Cancelled. Files read before the cancel are kept and can be reviewed.";
      case "FAILED": return "The job stopped with an error (below). Resume tries again from where it stopped.";
      default: return "";
    }
  }

  function render(job) {
    $("job-state").className = `pill ${job.status}`;
    $("job-state").textContent = STATE_WORDS[job.status] || job.status;
    $("job-source").textContent = describeJob(job, uploadDir);
    $("job-progress").replaceWith(Object.assign(progressBar(job, true), { id: "job-progress" }));
    const p = job.progress;
    $("job-counts").textContent = job.status === "PENDING" && !p.total ? "Not started yet."
      : p.counting ? `Counting files… ${fmtInt(p.total)} found so far`
      : `${fmtInt(p.current)} of ${fmtInt(p.total)} files done` + (p.total ? ` (${Math.floor((100 * p.current) / p.total)} %)` : "");
    // Time left and the file being read only mean something while the job runs; once it has ended the
    // duration says so ("Finished in 12 s") and the speed is the average.
    const running = job.status === "RUNNING";
    $("f-rate-label").textContent = running ? "Speed" : "Average speed";
    $("f-rate").textContent = job.rate_per_second ? `${job.rate_per_second.toFixed(1)} files per second` : "—";
    $("f-eta-card").hidden = !running;
    $("f-eta").textContent = running && job.eta_seconds !== null ? `about ${fmtDuration(job.eta_seconds)}` : "—";
    $("f-elapsed-card").hidden = job.status === "PENDING";
    $("f-elapsed-label").textContent = elapsedLabel(job.status);
    $("f-elapsed").textContent = fmtDuration(job.running_seconds);
    $("f-errors").textContent = fmtInt(job.error_count);
    // Files kept with warnings (an import's page only): those without a preview were archived as they are.
    $("f-warnings-box").hidden = !job.warning_count;
    $("f-warnings").textContent = job.warning_count ? fmtInt(job.warning_count)
      + (job.no_preview_count ? ` (${fmtInt(job.no_preview_count)} without a preview)` : "") : "0";
    $("f-current-card").hidden = !running;
    $("f-current").textContent = running && job.current_item ? job.current_item.split("/").pop() : "—";
    $("btn-pause").hidden = !["RUNNING", "PENDING"].includes(job.status);
    $("btn-resume").hidden = !["PAUSED", "FAILED"].includes(job.status);
    $("btn-cancel").hidden = FINISHED.has(job.status);
    // A finished import can be exported (the plan comes first; nothing is copied from here).
    $("btn-export").hidden = !(job.type === "import" && job.status === "COMPLETED");
    $("job-explain").textContent = explain(job);
    $("job-message").hidden = !job.error_message;
    $("job-message").textContent = job.error_message || "";
    for (const e of job.errors || []) addError(e);
    $("errors-card").hidden = shownErrors.size === 0;
    $("errors-more").hidden = shownErrors.size >= job.error_count;
    renderTakeout(job.takeout);
    const skipped = Object.entries(job.skipped || {});
    $("skipped-card").hidden = !skipped.length;
    $("skipped").replaceChildren(...skipped.map(([why, v]) => el("li", {},
      el("span", { class: "path", text: `${fmtInt(v.count)} × ${why}` }),
      v.examples && v.examples.length ? el("div", { class: "muted", text: `for example ${v.examples.join(", ")}` }) : null)));
  }

  // Google Takeout parts: which are here, which are missing, JSON files still waiting for their photo.
  function renderTakeout(info) {
    const exports = (info && info.exports) || [];
    $("takeout-card").hidden = !exports.length;
    $("takeout-exports").replaceChildren(...exports.map((x) => {
      const label = (n) => String(n).padStart(3, "0");
      const damaged = x.damaged || [];
      const numbers = [...new Set([...x.parts, ...x.missing, ...damaged])].sort((a, b) => a - b);
      const chips = numbers.map((n) => {
        const missing = x.missing.includes(n);
        const broken = damaged.includes(n);
        const now = x.this_import.includes(n);
        return el("span", {
          class: `part${missing ? " missing" : broken ? " damaged" : now ? " new" : ""}`,
          title: missing ? "not imported yet" : broken ? "could not be read to the end: see the files with problems"
            : now ? "unpacked by this import" : "unpacked by an earlier import",
          text: label(n),
        });
      });
      return el("li", { "data-export": x.export },
        el("div", {}, el("strong", { text: `Export of ${fmtExport(x.export)}` }),
          ` · ${fmtInt(x.parts.length)} of ${fmtInt(x.highest)} part${x.highest === 1 ? "" : "s"} · ${fmtInt(x.files)} files`),
        el("div", { class: "parts", "aria-label": "Parts" }, ...chips),
        x.message ? el("p", { class: "takeout-missing", text: x.message[0].toUpperCase() + x.message.slice(1) + "." }) : null,
        x.message && x.missing.length ? el("p", { class: "muted", text: "Import the missing part the same way when you have it: its photos and their information are matched with what is here." }) : null,
        x.completed_earlier ? el("p", { class: "muted", text: `${fmtInt(x.completed_earlier)} photo${x.completed_earlier === 1 ? "" : "s"} imported before got ${x.completed_earlier === 1 ? "its" : "their"} information from this part.` }) : null,
        damaged.length ? el("p", { class: "takeout-missing", text: `Part${damaged.length === 1 ? "" : "s"} ${damaged.map(label).join(", ")} could not be read to the end (a damaged or incomplete download). Download ${damaged.length === 1 ? "it" : "them"} again and import ${damaged.length === 1 ? "it" : "them"} the same way.` }) : null,
        x.not_unpacked ? el("p", { class: "muted", text: `${fmtInt(x.not_unpacked)} entr${x.not_unpacked === 1 ? "y" : "ies"} of the parts were not unpacked (links, special files or unsafe names).` }) : null);
    }));
  }

  function fmtExport(stamp) {
    // "20240305T181818Z" -> "5 Mar 2024"
    const m = /^(\d{4})(\d{2})(\d{2})T/.exec(stamp || "");
    if (!m) return stamp;
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  }

  function addError(e) {
    if (shownErrors.has(e.file_id)) return;
    shownErrors.set(e.file_id, e);
    lastErrorId = Math.max(lastErrorId, e.file_id);
    $("errors").append(el("li", {}, el("div", { class: "path", text: e.path }), errorWhy(e.error, e.error_detail)));
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const job = await api(`/api/jobs/${id}`);
      render(job);
      if (lastStatus && lastStatus !== job.status && FINISHED.has(job.status)) {
        toast(`${job.type === "export" ? "Export" : "Import"} ${STATE_WORDS[job.status]}.`);
      }
      // A job that changed state (a worker took it) may prove the banner wrong: ask again now.
      if (lastStatus !== job.status) checkWorker();
      lastStatus = job.status;
      timer = setTimeout(poll, FINISHED.has(job.status) ? 10000 : 1000);
    } catch (e) {
      timer = setTimeout(poll, 3000);
    }
  }

  wireControls(() => id, (job) => { render(job); lastStatus = job.status; poll(); },
    { pause: "btn-pause", resume: "btn-resume", cancel: "btn-cancel",
      cancelQuestion: panel.dataset.jobType === "export"
        ? "Cancel this export? Files already copied stay in the archive; the rest are not copied."
        : "Cancel this import? Files already read are kept; the rest are not read." });
  $("errors-more").addEventListener("click", async () => {
    const data = await api(`/api/jobs/${id}/errors?after=${lastErrorId}&limit=100`);
    data.errors.forEach(addError);
    if (!data.errors.length) $("errors-more").hidden = true;
  });
  poll();
}
