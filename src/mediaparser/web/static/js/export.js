// The export pages: which imports can be exported (/export), one import's
// export (/export/<id>: the plan, the running job, the done screen, then the
// separate clean-up of the originals) and one folder of the archive
// (/export/<id>/year/<folder>). The server decides everything — the plan, the
// refusal while duplicate groups are open, what clean-up may delete — this
// file only shows it and asks. Jobs live on the server, so a reload finds the
// running or last export again.
import { api, checkWorker, el, errorWhy, fmtBytes, fmtDuration, fmtInt, fmtLocal, fmtWhen, toast } from "./common.js";
import { FINISHED, STATE_WORDS, elapsedLabel, progressBar, wireControls } from "./jobs.js";

const $ = (id) => document.getElementById(id);
const plural = (n, one, many = `${one}s`) => `${fmtInt(n)} ${n === 1 ? one : many}`;

/** A few example paths, one per line, with "…" when there are more. */
function examples(paths, count) {
  if (!paths || !paths.length) return null;
  const more = count > paths.length ? [el("li", { class: "muted", text: `… and ${fmtInt(count - paths.length)} more` })] : [];
  return el("ul", { class: "x-examples" }, paths.map((p) => el("li", { text: p })), more);
}

function pill(status, id) {
  return el("span", { class: `pill ${status}`, id, text: STATE_WORDS[status] || status.toLowerCase() });
}

// ---- /export: the imports that can be exported --------------------------
const indexBox = $("export-index");
if (indexBox) {
  const body = $("exportable-body");

  function lastExport(x) {
    if (!x) return el("span", { class: "muted", text: "not exported yet" });
    const p = x.progress;
    return el("div", {}, pill(x.status), " ",
      el("span", { class: "muted", text: x.status === "COMPLETED" ? `to ${x.output}` : `${fmtInt(p.current)} of ${fmtInt(p.total)}` }));
  }

  function row(imp) {
    const href = `/export/${imp.id}`;
    return el("tr", { class: "clickable", "data-import": imp.id, onclick: () => { window.location.href = href; } },
      el("td", { "data-label": "Import" }, el("a", { href }, `#${imp.id}`)),
      el("td", { class: "what", "data-label": "From" }, imp.uploaded ? "Files uploaded from a computer" : imp.path || "",
        el("div", { class: "muted small-note", text: `finished ${fmtWhen(imp.completed_at)}` })),
      el("td", { "data-label": "Files" }, plural(imp.analysed, "file"),
        imp.failed ? el("span", { class: "bad", text: ` · ${fmtInt(imp.failed)} unreadable` }) : null),
      el("td", { "data-label": "Last export" }, lastExport(imp.latest_export)),
      el("td", {}, el("a", { class: "button small-button", href }, imp.latest_export ? "Open" : "Export…")));
  }

  async function refresh() {
    try {
      const data = await api("/api/imports");
      body.replaceChildren(...(data.imports.length ? data.imports.map(row) : [el("tr", {}, el("td", { colspan: 5, class: "muted" },
        "No finished import yet. ", el("a", { href: "/import" }, "Import some photos"), " first."))]));
    } catch (e) {
      toast(e.message, { error: true });
    }
  }
  refresh();
  setInterval(refresh, 5000);
}

// ---- /export/<id>: plan, run, done, clean-up ----------------------------
const box = $("export");
if (box && $("plan-section")) {
  const importId = box.dataset.importId;
  let exportId = null;
  let planGen = 0;
  let lastPlan = null;
  let requested = null; // the output folder of the last plan asked for
  let pollTimer = null;
  let lastStatus = null;
  let cleanupGen = 0;
  let cleanupCount = 0;

  const show = (id, on) => { $(id).hidden = !on; };

  function setState(status) {
    const p = $("export-state");
    p.hidden = !status;
    if (status) {
      p.className = `pill ${status}`;
      p.textContent = STATE_WORDS[status] || status;
    }
  }

  // (a) the plan -------------------------------------------------------
  function showPlan() {
    clearTimeout(pollTimer);
    show("plan-section", true);
    show("start-section", true);
    show("done-section", false);
    show("cleanup-section", false);
    loadPlan(true);
  }

  /** Plan for the folder in the field; unless forced, only when it differs from the last one asked for
   * (a "change" on leaving the field must not re-plan — and disable Start — under a click on Start). */
  async function loadPlan(force = false) {
    const output = $("x-output").value.trim();
    if (!force && output === requested) return;
    requested = output;
    const gen = ++planGen;
    $("plan-error").hidden = true;
    $("plan-body").classList.add("stale");
    $("x-start").disabled = true;
    try {
      const q = output ? `?output=${encodeURIComponent(output)}` : "";
      const plan = await api(`/api/imports/${importId}/export-plan${q}`);
      if (gen !== planGen) return;
      lastPlan = plan;
      // The default folder fills the field only if the person has not typed meanwhile.
      if (!output && !$("x-output").value.trim()) {
        $("x-output").value = plan.output;
        requested = plan.output;
      }
      renderPlan(plan);
    } catch (e) {
      if (gen !== planGen) return;
      lastPlan = null;
      $("plan-error").textContent = e.message;
      $("plan-error").hidden = false;
      $("plan-body").replaceChildren();
      renderStart(null);
    } finally {
      if (gen === planGen) $("plan-body").classList.remove("stale");
    }
  }

  function fact(label, value, key, extra = null) {
    return el("div", { "data-fact": key }, el("dt", { text: label }), el("dd", { text: fmtInt(value) }), extra);
  }

  function renderPlan(p) {
    const parts = [el("p", { class: "muted", id: "plan-for" }, "Planned for ", el("code", { text: p.output }))];
    parts.push(el("dl", { class: "facts", id: "plan-facts" },
      fact("Files in the import", p.total, "total"),
      fact("To copy", p.to_copy, "to_copy"),
      fact("Already present (same content)", p.already_present, "already_present"),
      fact("Skipped", p.skipped_count, "skipped"),
      fact("No capture time → unknown/", p.unknown, "unknown"),
      fact("Renamed for a name clash", p.collision_count, "collisions")));

    parts.push(el("h3", { text: "Where they go" }));
    if (p.folders.length) {
      parts.push(el("table", { class: "jobs x-plan-folders", id: "plan-folders" },
        el("thead", {}, el("tr", {}, el("th", { text: "Folder" }), el("th", { text: "Files" }), el("th", { text: "For example" }))),
        el("tbody", {}, p.folders.map((f) => el("tr", { "data-folder": f.folder },
          el("td", { class: "path", "data-label": "Folder", text: `${f.folder}/` }),
          el("td", { "data-label": "Files", text: fmtInt(f.count) }),
          el("td", { class: "muted path", "data-label": "For example", text: f.example }))))));
      parts.push(el("p", { class: "field-note" }, "Names come from each file's local capture time and corrected extension (layout ",
        el("code", { text: p.layout }), ")."));
    } else {
      parts.push(el("p", { class: "muted", text: "Nothing would be copied." }));
    }

    parts.push(el("h3", { text: "Name clashes" }));
    const clash = [el("li", {}, "Same name, ", el("strong", { text: "identical content" }),
      " (already archived or twice in this import): counted as already present, not copied twice",
      p.already_present ? ` — ${plural(p.already_present, "file")}.` : " — none here.")];
    clash.push(el("li", {}, "Same name, ", el("strong", { text: "different content" }), ": the later one gets ",
      el("code", { text: "_2" }), ", ", el("code", { text: "_3" }), "…",
      p.collision_count ? ` — ${plural(p.collision_count, "file")}:` : " — none here."));
    parts.push(el("ul", { class: "x-notes" }, clash));
    if (p.collisions.length) {
      parts.push(el("ul", { class: "x-pairs", id: "plan-collisions" }, p.collisions.map((c) => el("li", {},
        el("span", { class: "path", text: c.source }), el("span", { class: "arrow", text: " → " }),
        el("span", { class: "path", text: c.destination }), el("span", { class: "muted", text: ` (instead of ${c.wanted})` })))));
    }

    parts.push(el("h3", { text: "Skipped or set apart" }));
    const skipped = Object.entries(p.skipped || {});
    const skipItems = skipped.map(([why, v]) => el("li", { "data-skip": why },
      el("div", {}, el("strong", { text: fmtInt(v.count) }), ` × ${why} — not exported`),
      examples(v.examples, v.count)));
    if (p.unknown) {
      skipItems.push(el("li", { "data-skip": "unknown" },
        el("div", {}, el("strong", { text: fmtInt(p.unknown) }), " × no capture time — exported to ",
          el("code", { text: "unknown/" }), " under the original name")));
    }
    parts.push(skipItems.length ? el("ul", { class: "errors-list x-skipped", id: "plan-skipped" }, skipItems)
      : el("p", { class: "muted", text: "Every file is exported." }));
    $("plan-body").replaceChildren(...parts);
    renderStart(p);
  }

  function renderStart(p) {
    const warn = [];
    if (p && p.needs_review) {
      warn.push(el("div", { class: "x-warning", "data-warning": "needs_review" },
        el("strong", { text: `${plural(p.needs_review, "file")} still ${p.needs_review === 1 ? "needs" : "need"} review` }),
        " of the capture time; exported now, they get the time they have today. ",
        el("a", { href: `/review?job=${importId}&state=needs_review` }, "Review them")));
    }
    if (p && p.open_groups) {
      warn.push(el("div", { class: "x-warning", "data-warning": "open_groups" },
        el("strong", { text: `${plural(p.open_groups, "duplicate group")} ${p.open_groups === 1 ? "is" : "are"} not resolved.` }),
        " Resolve first, or export anyway: every member of an open group is then exported. ",
        el("a", { href: "/duplicates" }, "Resolve duplicates")));
    }
    $("warnings").replaceChildren(...warn);
    $("no-warnings").hidden = !p || warn.length > 0;
    const open = !!(p && p.open_groups);
    $("override-row").hidden = !open;
    if (!open) $("x-override").checked = false;
    const allowed = !!p && (p.can_start || $("x-override").checked);
    $("x-start").disabled = !allowed;
    $("start-why").textContent = !p ? "Fix the output folder first."
      : allowed ? `Copies ${plural(p.to_copy, "file")} to ${p.output}.`
      : "Resolve the duplicate groups first, or tick “Export anyway”.";
  }

  let replanTimer = null;
  $("x-output").addEventListener("input", () => { clearTimeout(replanTimer); replanTimer = setTimeout(() => loadPlan(), 600); });
  $("x-output").addEventListener("change", () => { clearTimeout(replanTimer); loadPlan(); });
  $("x-replan").addEventListener("click", () => { clearTimeout(replanTimer); loadPlan(true); });
  $("x-override").addEventListener("change", () => renderStart(lastPlan));

  $("x-start").addEventListener("click", async () => {
    $("start-message").hidden = true;
    $("x-start").disabled = true;
    try {
      const job = await api(`/api/imports/${importId}/export`, {
        method: "POST", json: { output: $("x-output").value.trim() || null, allow_unresolved: $("x-override").checked },
      });
      exportId = job.id;
      toast("Export started.");
      showRun(job);
    } catch (e) {
      // The server has the last word (e.g. 409 while groups are open): show its reason.
      $("start-message").textContent = e.message;
      $("start-message").hidden = false;
      renderStart(lastPlan);
    }
  });

  // (c) while running ------------------------------------------------------
  function explain(job) {
    switch (job.status) {
      case "PENDING": return "Waiting for the background worker to take the export.";
      case "RUNNING": return "Each file is copied under a temporary name, checked by its hash, given its date and tags, then renamed into place. Pause or cancel at any time; the archive never holds a half-copied file.";
      case "PAUSED": return "Paused. Files already copied stay in the archive; Resume continues with the rest.";
      case "FAILED": return "The export stopped (the reason is below). Fix it — e.g. free disk space — and Resume: it continues where it stopped.";
      case "CANCELLED": return "Cancelled. Files copied before the cancel are in the archive and in its manifest. You can plan a new export below.";
      default: return "";
    }
  }

  function showRun(job) {
    show("run-section", true);
    show("done-section", false);
    show("cleanup-section", false);
    show("plan-section", false);
    show("start-section", false);
    renderRun(job);
    poll();
  }

  const RUN_TITLES = { PAUSED: "Export paused", FAILED: "Export stopped", CANCELLED: "Export cancelled" };

  function renderRun(job) {
    setState(job.status);
    $("run-title").textContent = `${RUN_TITLES[job.status] || "Exporting"} (export ${job.id})`;
    $("run-output").textContent = job.output || (lastPlan && lastPlan.output) || "";
    $("run-progress").replaceWith(Object.assign(progressBar(job, true), { id: "run-progress" }));
    const p = job.progress;
    $("run-counts").textContent = job.status === "PENDING" && !p.current ? `Waiting to start · ${plural(p.total, "file")}`
      : `${fmtInt(p.current)} of ${fmtInt(p.total)} files done` + (p.total ? ` (${Math.floor((100 * p.current) / p.total)} %)` : "");
    // As on a job's page: time left and the file in hand only while it runs; afterwards "Cancelled after 12 s".
    const running = job.status === "RUNNING";
    $("r-rate-label").textContent = running ? "Speed" : "Average speed";
    $("r-rate").textContent = job.rate_per_second ? `${job.rate_per_second.toFixed(1)} files per second` : "—";
    $("r-eta-card").hidden = !running;
    $("r-eta").textContent = running && job.eta_seconds !== null ? `about ${fmtDuration(job.eta_seconds)}` : "—";
    $("r-elapsed-card").hidden = job.status === "PENDING";
    $("r-elapsed-label").textContent = elapsedLabel(job.status);
    $("r-elapsed").textContent = fmtDuration(job.running_seconds);
    $("r-errors").textContent = fmtInt(job.error_count);
    $("r-current-card").hidden = !running;
    $("r-current").textContent = running && job.current_item ? job.current_item.split("/").pop() : "—";
    $("r-pause").hidden = !["RUNNING", "PENDING"].includes(job.status);
    $("r-resume").hidden = !["PAUSED", "FAILED"].includes(job.status);
    $("r-cancel").hidden = FINISHED.has(job.status);
    $("run-explain").textContent = explain(job);
    $("run-message").hidden = !job.error_message;
    $("run-message").textContent = job.error_message || "";
    if (job.status === "CANCELLED" && $("plan-section").hidden) {
      // A cancelled export can be planned again (what it copied now counts as already present).
      show("plan-section", true);
      show("start-section", true);
      loadPlan(true);
      // The worker records the batch it had in hand when it notices the cancel (within about a
      // second): plan once more after that, so those files show as already present.
      setTimeout(() => loadPlan(true), 2500);
    }
  }

  async function poll() {
    clearTimeout(pollTimer);
    if (!exportId) return;
    try {
      const job = await api(`/api/jobs/${exportId}`);
      if (job.status === "COMPLETED") {
        if (lastStatus && lastStatus !== "COMPLETED") toast("Export finished.");
        lastStatus = job.status;
        return showDone();
      }
      renderRun(job);
      if (lastStatus !== job.status) checkWorker();
      lastStatus = job.status;
      if (!FINISHED.has(job.status)) pollTimer = setTimeout(poll, 1000);
      else if (job.status === "FAILED") pollTimer = setTimeout(poll, 5000);
    } catch (e) {
      pollTimer = setTimeout(poll, 3000);
    }
  }

  wireControls(() => exportId, (job) => { renderRun(job); lastStatus = job.status; poll(); },
    { pause: "r-pause", resume: "r-resume", cancel: "r-cancel",
      cancelQuestion: "Cancel this export? Files already copied stay in the archive; the rest are not copied." });

  // (d) the done screen ------------------------------------------------------
  async function showDone() {
    clearTimeout(pollTimer);
    let res;
    try {
      res = await api(`/api/exports/${exportId}`);
    } catch (e) {
      toast(e.message, { error: true });
      return;
    }
    setState(res.status);
    show("run-section", false);
    show("plan-section", false);
    show("start-section", false);
    show("done-section", true);
    $("done-title").textContent = `Export ${res.job_id} finished`;
    $("done-output").textContent = res.output;
    if (!$("x-output").value.trim()) $("x-output").value = res.output; // "Plan another export" starts from here
    $("d-copied").textContent = fmtInt(res.copied);
    $("d-present").textContent = fmtInt(res.already_present);
    $("d-skipped").textContent = fmtInt(res.skipped);
    $("d-failed").textContent = fmtInt(res.failed);
    $("d-failed").classList.toggle("bad", res.failed > 0);
    $("done-folders").replaceChildren(...(res.folders.length ? res.folders.map((f) => el("li", { "data-folder": f.folder },
      el("a", { href: `/export/${importId}/year/${encodeURIComponent(f.folder)}?export=${res.job_id}` }, `${f.folder}/`),
      el("span", { class: "muted", text: ` ${plural(f.count, "file")}` })))
      : [el("li", { class: "muted", text: "No files were exported." })]));
    $("done-failed-box").hidden = !res.failed_files.length;
    $("done-failed").replaceChildren(...res.failed_files.map((f) => el("li", {},
      el("div", { class: "path", text: f.source }), errorWhy(f.reason, f.detail))));
    show("cleanup-section", true);
    loadCleanup();
  }
  $("x-new-plan").addEventListener("click", () => {
    setState(null);
    show("done-section", false);
    showPlan();
  });

  // (e) the clean-up step ------------------------------------------------------
  const CLEANUP_PAGE = 100;

  function deletableItem(f) {
    return el("li", { "data-path": f.path },
      el("div", { class: "path", text: f.path }),
      el("div", { class: "muted small-note" }, "archived as ", el("span", { class: "path", text: f.archived_as }),
        f.via_kept_duplicate ? " (the copy of the duplicate you kept)" : "",
        f.working_copy ? " · uploaded working copy" : ""));
  }

  async function loadCleanup() {
    const gen = ++cleanupGen;
    const working = $("c-working").checked ? 1 : 0;
    $("c-delete").disabled = true;
    try {
      const data = await api(`/api/imports/${importId}/cleanup?working_copies=${working}&limit=${CLEANUP_PAGE}`);
      if (gen !== cleanupGen) return;
      cleanupCount = data.count;
      const parts = [];
      parts.push(el("p", { id: "cleanup-summary" }, data.count
        ? [el("strong", { text: plural(data.count, "original") }), ` (${fmtBytes(data.bytes)}) can be deleted: `,
          "each one's archive copy is verified."]
        : "No original can be deleted now: none left has a verified export that qualifies."));
      if (data.count) {
        const list = el("ul", { class: "errors-list x-delete-list", id: "cleanup-files",
          // It scrolls: the keyboard must reach it to scroll it (tabindex), and a screen reader names it.
          tabindex: "0", "aria-label": "Originals that will be deleted" }, data.files.map(deletableItem));
        parts.push(el("h3", { text: "Will be deleted" }), list);
        if (data.next_offset !== null) {
          let next = data.next_offset;
          const more = el("button", { type: "button", id: "cleanup-more" }, "Show more");
          more.addEventListener("click", async () => {
            const page = await api(`/api/imports/${importId}/cleanup?working_copies=${working}&offset=${next}&limit=${CLEANUP_PAGE}`);
            page.files.forEach((f) => list.append(deletableItem(f)));
            next = page.next_offset;
            if (next === null) more.remove();
          });
          parts.push(more);
        }
      }
      const kept = Object.entries(data.kept || {});
      if (kept.length) {
        parts.push(el("h3", { text: "Stay where they are" }), el("ul", { class: "errors-list", id: "cleanup-kept" },
          kept.map(([why, v]) => el("li", { "data-kept": why },
            el("div", {}, el("strong", { text: fmtInt(v.count) }), ` × ${why}`),
            examples(v.examples, v.count)))));
      }
      $("cleanup-body").replaceChildren(...parts);
      $("c-delete").textContent = `Delete the originals of ${plural(data.count, "exported file")}`;
      $("c-delete").disabled = data.count === 0;
      $("c-delete").hidden = data.count === 0;
    } catch (e) {
      if (gen !== cleanupGen) return;
      $("cleanup-body").replaceChildren(el("p", { class: "bad", text: e.message }));
    }
  }
  $("c-working").addEventListener("change", loadCleanup);

  $("c-delete").addEventListener("click", () => {
    $("c-confirm-title").textContent = `Delete ${plural(cleanupCount, "original")}?`;
    $("c-confirm-text").textContent = `The ${plural(cleanupCount, "file")} listed under “Will be deleted” are removed from `
      + "their import folder" + ($("c-working").checked ? ", with their thumbnails" : "") + ". Nothing else is touched.";
    $("c-confirm").showModal();
  });
  $("c-confirm-no").addEventListener("click", () => $("c-confirm").close());
  $("c-confirm-yes").addEventListener("click", async () => {
    $("c-confirm").close();
    $("c-delete").disabled = true;
    try {
      const r = await api(`/api/imports/${importId}/cleanup`, {
        method: "POST", json: { confirm: true, working_copies: $("c-working").checked },
      });
      const refused = Object.entries(r.refused || {});
      const parts = [el("p", { class: "ok", id: "cleanup-done" },
        el("strong", { text: `Deleted ${plural(r.deleted_count, "original")}.` }),
        r.thumbnails_removed ? ` Removed ${plural(r.thumbnails_removed, "thumbnail")}.` : "",
        " The archive copies are untouched.")];
      if (refused.length) {
        parts.push(el("p", { class: "bad", text: `${plural(r.refused_count, "file")} left in place at the last check:` }),
          el("ul", { class: "errors-list", id: "cleanup-refused" }, refused.map(([p, why]) => el("li", {},
            el("div", { class: "path", text: p }), el("div", { class: "why", text: why })))));
      }
      $("cleanup-result").replaceChildren(...parts);
      $("cleanup-result").hidden = false;
      toast(`Deleted ${plural(r.deleted_count, "original")}.`);
    } catch (e) {
      toast(e.message, { error: true });
    }
    loadCleanup();
  });

  // Start: the running or last export of this import, else the plan.
  (async () => {
    let exports = [];
    try {
      const data = await api(`/api/imports/${importId}/exports`);
      exports = data.exports;
      if (data.uploaded) $("export-source").textContent = "Files uploaded from a computer";
    } catch (e) {
      toast(e.message, { error: true });
    }
    const latest = exports[0];
    if (latest && latest.status !== "CANCELLED") {
      exportId = latest.id;
      lastStatus = latest.status;
      if (latest.status === "COMPLETED") showDone();
      else showRun(latest);
    } else {
      if (latest) $("x-output").value = latest.output || "";
      showPlan();
    }
  })();
}

// ---- /export/<id>/year/<folder>: the files of one archive folder ----------
const yearBox = $("export-year");
if (yearBox && yearBox.dataset.exportId) {
  const exportId = yearBox.dataset.exportId;
  const folder = yearBox.dataset.folder;
  const body = $("year-body");
  let next = 0;

  function thumb(f) {
    if (!f.file_id) return el("div", { class: "x-thumb placeholder", text: "—" });
    const img = el("img", { src: `/files/${f.file_id}/thumb`, alt: "", loading: "lazy" });
    img.addEventListener("error", () => img.replaceWith(el("div", { class: "x-thumb placeholder", text: "no preview" })));
    return el("div", { class: "x-thumb" }, img);
  }

  const row = (f) => el("tr", { "data-file": f.file_id ?? "", "data-name": f.name },
    el("td", {}, thumb(f)),
    el("td", { "data-label": "Name" }, el("div", { class: "path x-name", text: f.name }),
      f.action !== "copied" ? el("span", { class: "badge", text: f.action }) : null),
    el("td", { "data-label": "Taken" }, el("div", { text: f.captured_at ? fmtLocal(f.captured_at) : "No date" }),
      f.time_source ? el("div", { class: "muted small-note", text: `from ${f.time_source}` }) : null),
    el("td", { class: "path muted", "data-label": "Original" }, f.source),
    (f.tags || []).length ? el("td", { "data-label": "Tags" }, f.tags.map((t) => el("span", { class: "badge x-tag", text: t })))
      : el("td", {}));

  async function load() {
    try {
      const data = await api(`/api/exports/${exportId}/files?folder=${encodeURIComponent(folder)}&offset=${next}&limit=100`);
      if (next === 0) {
        body.replaceChildren();
        $("year-lead").textContent = `${plural(data.total, "file")} in ${data.output.replace(/\/$/, "")}/${folder}/, from the manifest of export ${exportId}.`;
        if (!data.total) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "No files in this folder." })));
      }
      data.files.forEach((f) => body.append(row(f)));
      next = data.next_offset;
      $("year-more").hidden = next === null;
    } catch (e) {
      toast(e.message, { error: true });
    }
  }
  $("year-more").addEventListener("click", load);
  load();
}
