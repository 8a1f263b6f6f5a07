// The examination view: one file large, every capture-time candidate side by
// side, pick one / type a date / shift a camera's clock, the file's history
// with undo. Keyboard: ← → move, Enter confirms and goes to the next file that
// needs a look, Esc closes. On a touch screen a swipe left or right over the
// picture moves like the arrow keys, and a close button sits on the picture.
import { api, el, errorWhy, fmtBytes, fmtDuration, fmtInt, fmtLocal, fmtWhen, icon, toast, CONFIDENCE_WORDS, CONFIDENCE_HELP } from "./common.js";
import { TagField } from "./tagfield.js";

const $ = (id) => document.getElementById(id);

// Where a tag came from, in the words the chips show.
const ORIGIN_WORDS = { folder: "folder", filename: "file name", album: "Google Photos album", user: "you", carried: "carried from a duplicate" };
const ORIGIN_HELP = {
  folder: "Taken from the name of a folder the file was in",
  filename: "Taken from a {…} group in the file name",
  user: "Added by a person",
  carried: "Carried over from a duplicate that was set aside",
};

// A swipe: at least this far sideways (CSS pixels), and clearly more sideways than up or down.
const SWIPE_MIN = 50;
const SWIPE_RATIO = 1.5;

const PRECISION_WORDS = { second: "to the second", minute: "to the minute", day: "day only", month: "month only", year: "year only", decade: "decade only" };

/** The end of a file name without its extension, as much as a strip thumbnail's caption holds. */
function shortName(name) {
  const stem = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : name;
  return stem.length > 9 ? `…${stem.slice(-8)}` : stem;
}

export class Examiner {
  constructor(opts) {
    this.opts = opts;
    this.dialog = $("examine");
    this.file = null;
    this.nav = { previous: null, next: null, next_needing_review: null };
    this.changed = false;
    this.typed = null;
    this.loadSeq = 0;

    $("exam-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => this.closed());
    $("exam-prev").addEventListener("click", () => this.go("previous"));
    $("exam-back").addEventListener("click", () => this.go("previous"));
    $("exam-next").addEventListener("click", () => this.go("next"));
    $("exam-fwd").addEventListener("click", () => this.go("next"));
    $("exam-confirm").addEventListener("click", () => this.confirmAndNext());
    this.dialog.addEventListener("keydown", (e) => this.onKey(e));

    // On a phone the side panel is below the picture: a close button on the picture keeps it in reach.
    $("exam-media").append(el("button", { type: "button", class: "exam-close-float", "aria-label": "Close", title: "Close",
      onclick: () => this.dialog.close() }, icon("close")));
    $("exam-close").replaceChildren(icon("close"), el("span", { class: "kbd", text: "Esc" }));
    $("exam-prev").replaceChildren(icon("prev"));
    $("exam-next").replaceChildren(icon("next"));
    this.listenForSwipes($("exam-media"));

    opts.interpreter($("exam-date"), $("exam-date-interp"), (r) => { this.typed = r; $("exam-date-save").disabled = !r; });
    $("exam-date-save").addEventListener("click", () => this.saveTyped());
    $("exam-date").addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); if (this.typed) this.saveTyped(); }
    });

    for (const id of ["shift-dir", "shift-h", "shift-m", "shift-s"]) $(id).addEventListener("input", () => this.describeShift());
    opts.interpreter($("shift-true"), $("shift-interp"), (r) => this.shiftFromTrueTime(r));
    $("shift-apply").addEventListener("click", () => this.applyShift());

    $("burst-cover").addEventListener("click", () => this.keepFrames({ keep: "cover" }));
    $("burst-sharpest").addEventListener("click", () => this.keepFrames({ keep: "sharpest", count: +$("burst-count").value }));
    $("burst-all").addEventListener("click", () => this.keepFrames({ keep: "all" }));

    this.tags = [];
    this.tagField = new TagField($("exam-tag-field"), {
      immediate: true, label: "Add a tag to this file", placeholder: "add a tag…",
      onAdd: (names) => this.addTags(names), exclude: () => this.tags.map((t) => t.name),
    });
  }

  get isOpen() { return this.dialog.open; }

  async open(id) {
    if (!this.dialog.open) { this.changed = false; this.dialog.showModal(); }
    await this.load(id);
  }

  async load(id) {
    const seq = ++this.loadSeq;
    try {
      const [file, nav, tags] = await Promise.all([
        api(`/api/files/${id}`),
        api(`/api/files/${id}/neighbours?${this.opts.filterArgs()}`),
        api(`/api/files/${id}/tags`),
      ]);
      if (seq !== this.loadSeq) return;
      this.file = file;
      this.nav = nav;
      this.tags = tags.tags;
      this.render();
      this.opts.onOpen(id);
      const active = document.activeElement;
      if (!active || !this.dialog.contains(active) || active.tagName === "BUTTON" || active === document.body) this.dialog.focus();
    } catch (e) {
      toast(e.message, { error: true });
    }
  }

  closed() {
    const media = $("exam-picture").querySelector("video");
    if (media) media.pause();
    this.opts.onClose(this.changed);
  }

  status(text, { error = false, batch = null } = {}) {
    const line = $("exam-status");
    line.replaceChildren(text);
    if (batch) {
      line.append(" ", el("button", { type: "button", class: "small", onclick: () => this.undo(batch) }, "Undo"));
    }
    line.className = `status-line${error ? " error" : ""}`;
    line.hidden = false;
  }

  // A Live Photo's still plays its clip (another file of its stack); a Motion Photo plays the
  // video inside it (/files/<id>/motion). The clip plays over the still and gives it back at its end.
  offerMotion(pic, f) {
    const src = f.live_clip ? `/files/${f.live_clip}/original` : f.motion_photo ? `/files/${f.id}/motion` : null;
    if (!src) return;
    const word = f.live_clip ? "Live Photo" : "Motion Photo";
    const still = pic.querySelector("img");
    const button = el("button", { type: "button", class: "exam-play", "aria-label": `Play the ${word}`, title: `Play the ${word}` },
      icon("play"), el("span", { text: f.live_clip ? "LIVE" : "MOTION" }));
    const stop = () => {
      const v = pic.querySelector("video.exam-motion");
      if (v) { v.pause(); v.remove(); }
      still.hidden = false;
      button.hidden = false;
    };
    button.addEventListener("click", (e) => {
      e.stopPropagation();
      const video = el("video", { class: "exam-motion", src, autoplay: true, playsinline: true, controls: true, preload: "auto",
        "aria-label": `${word}: ${f.name}` });
      video.muted = true;  // plays at once everywhere; its controls turn the sound on
      video.addEventListener("ended", stop);
      video.addEventListener("error", () => { stop(); toast(`The ${word}'s video could not be played.`, { error: true }); });
      still.hidden = true;
      button.hidden = true;
      pic.append(video);
    });
    pic.append(button);
  }

  // ---- rendering ---------------------------------------------------------
  render() {
    const f = this.file;
    $("exam-status").hidden = true;
    $("exam-name").textContent = f.name;
    $("exam-folder").textContent = f.folder ? `in ${f.folder}` : "";
    const pic = $("exam-picture");
    if (f.kind === "video") {
      pic.replaceChildren(el("video", { src: `/files/${f.id}/original`, controls: true, preload: "metadata", poster: f.thumb ? `/files/${f.id}/thumb` : null }));
    } else if (f.kind === "image" && f.thumb) {
      pic.replaceChildren(el("img", { src: `/files/${f.id}/preview`, alt: f.name }));
      this.offerMotion(pic, f);
    } else if (f.kind === "image" && f.status !== "FAILED") {
      // Kept, but its picture could not be decoded (the API says thumb: false): the facts instead.
      pic.replaceChildren(el("div", { class: "no-preview" }, el("p", {}, el("strong", { text: "No preview" })),
        el("p", { text: f.name }),
        el("p", { text: [f.type ? f.type.toUpperCase() : null, fmtBytes(f.size), f.captured_at ? fmtLocal(f.captured_at, f.precision, { long: true }) : "no date"].filter(Boolean).join(" · ") }),
        el("p", { class: "muted", text: "The picture could not be decoded. The file itself is kept and archived as it is; the warning is under “Why this date”." })));
    } else {
      pic.replaceChildren(el("div", { class: "no-preview" }, el("p", { text: f.status === "FAILED" ? "This file could not be read." : "No preview for this kind of file." }),
        f.error ? errorWhy(f.error, f.error_detail) : null));
    }
    $("exam-prev").disabled = !this.nav.previous;
    $("exam-back").disabled = !this.nav.previous;
    $("exam-next").disabled = !this.nav.next;
    $("exam-fwd").disabled = !this.nav.next;

    $("exam-time").textContent = f.captured_at ? fmtLocal(f.captured_at, f.precision, { long: true }) : "No date yet";
    const badges = [];
    if (f.review === "reviewed") badges.push(el("span", { class: "badge reviewed" }, icon("check"), " Checked by a person"));
    badges.push(el("span", { class: `badge ${f.confidence}`, title: CONFIDENCE_HELP[f.confidence] }, `Confidence: ${CONFIDENCE_WORDS[f.confidence]}`));
    if (f.utc_offset) badges.push(el("span", { class: "muted", text: `UTC${f.utc_offset}${f.offset_assumed ? " (assumed from the default time zone)" : ""}` }));
    else if (f.captured_at) badges.push(el("span", { class: "muted", text: "time zone unknown" }));
    if (f.precision && f.precision !== "second") badges.push(el("span", { class: "muted", text: PRECISION_WORDS[f.precision] }));
    const group = f.group_id || f.similar_group_id;
    if (group) badges.push(el("a", { class: "exam-dup", href: `/duplicates?group=${group}` }, icon("copies"), " Has copies: compare them"));
    if (f.motion_photo) badges.push(el("span", { class: "badge motion", title: "One file: a photo with a short video inside. It is kept whole." }, icon("play"), " Motion Photo"));
    $("exam-badges").replaceChildren(...badges);
    const reasons = [];
    if (f.time_source_label) reasons.push(el("li", {}, el("strong", { text: `From: ${f.time_source_label}` })));
    if (f.review_note) reasons.push(el("li", {}, el("strong", { text: f.review_note })));
    for (const r of f.reasons) reasons.push(el("li", { text: r }));
    for (const w of f.warnings) reasons.push(el("li", { class: "bad", text: w }));
    if (f.error) reasons.push(errorWhy(f.error, f.error_detail, { tag: "li", cls: "bad why" }));
    $("exam-reasons").replaceChildren(...reasons);
    $("exam-why").open = f.confidence === "low" || f.confidence === "none" || (!f.thumb && f.warnings.length > 0);

    // The one in use first, then the usable ones, then the rejected ones.
    const ordered = [...f.candidates].sort((a, b) => (b.chosen - a.chosen) || (b.accepted - a.accepted));
    const rows = ordered.map((c) => el("tr", { class: `${c.chosen ? "chosen" : ""}${c.accepted ? "" : " rejected"}`, "data-candidate": c.index },
      el("td", {}, el("div", { class: "src", text: c.label }),
        el("div", { class: "why", text: c.chosen ? "✓ used now" : c.accepted ? "" : (c.reason || "not used") })),
      el("td", {},
        el("div", { text: c.local ? fmtLocal(c.local, c.precision) : (c.raw ? `“${c.raw}”` : "—") }),
        el("div", { class: "why", text: [c.basis === "utc" ? (c.local_note || "UTC") : c.utc_offset ? `UTC${c.utc_offset}` : "", c.precision !== "second" ? PRECISION_WORDS[c.precision] : ""].filter(Boolean).join(" · ") })),
      el("td", {}, c.local && !c.chosen ? el("button", { type: "button", class: "small", onclick: () => this.pick(c) }, "Use this") : null)));
    $("exam-cands").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 3, class: "muted", text: "No date was found anywhere in or around this file." }))]));

    this.renderTags();
    this.renderStack();

    $("exam-date").value = "";
    $("exam-date-interp").textContent = "";
    $("exam-date-save").disabled = true;
    this.typed = null;
    for (const id of ["shift-h", "shift-m", "shift-s"]) $(id).value = "0";
    $("shift-true").value = "";
    $("shift-interp").textContent = "";
    this.renderScope();

    const facts = [
      ["Type", [f.type, f.extension ? `.${f.extension}` : null].filter(Boolean).join(" ") || "—"],
      ["Size", fmtBytes(f.size)],
      ["Picture", f.width ? `${f.width} × ${f.height} pixels` : "—"],
    ];
    if (f.duration) facts.push(["Length", fmtDuration(f.duration)]);
    facts.push(["Camera", [f.make, f.camera].filter(Boolean).join(" ") || "—"]);
    facts.push(["File", f.rel_path]);
    if (f.sidecars.length) facts.push(["Sidecars", f.sidecars.join(", ")]);
    const g = f.takeout;
    if (g) {
      const where = { trash: "in its Trash", archive: "archived", locked: "in its Locked Folder" };
      const flags = (g.flags || []).map((x) => where[x] || x);
      if (flags.length) facts.push(["Google Photos", `Kept ${flags.join(", ")}`]);
      if (g.geo) facts.push(["Place", `${g.geo.latitude.toFixed(5)}, ${g.geo.longitude.toFixed(5)} (from its Google Takeout JSON)`]);
      if (g.album) facts.push(["Album", g.album]);
      if (g.people && g.people.length) facts.push(["People", g.people.join(", ")]);
    }
    facts.push(["Import", `#${f.job_id}`]);
    const dl = $("exam-facts");
    dl.replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    dl.append(el("dt", { text: "Original" }), el("dd", {}, el("a", { href: `/files/${f.id}/original`, target: "_blank", rel: "noopener" }, "Open the original file")));

    const hist = f.history.map((h) => el("li", { class: h.undone ? "undone" : "" },
      el("span", { class: "what" }, `${h.summary}`, el("br"), el("span", { class: "muted", text: `${fmtWhen(h.at)} · ${h.actor}${h.before.captured_at !== h.after.captured_at ? ` · was ${fmtLocal(h.before.captured_at, h.before.precision || "second")}` : ""}` })),
      !h.undone && h.action !== "undo" ? el("button", { type: "button", class: "small", onclick: () => this.undo(h.batch_id) }, "Undo") : null));
    $("exam-history").replaceChildren(...(hist.length ? hist : [el("li", { class: "muted", text: "No changes yet. The date shown is what the analysis found." })]));
  }

  renderTags() {
    const chips = this.tags.map((t) => el("li", { class: `tag-chip big origin-${t.origin}`, "data-tag": t.name, title: ORIGIN_HELP[t.origin] || "" },
      el("span", { class: "n", text: t.name }),
      el("span", { class: "origin", text: ORIGIN_WORDS[t.origin] || t.origin }),
      el("button", { type: "button", class: "x", "aria-label": `Remove the tag ${t.name}`, title: "Remove this tag", onclick: () => this.removeTag(t.name) }, "×")));
    $("exam-tags").replaceChildren(...(chips.length ? chips : [el("li", { class: "muted", text: "No tags yet." })]));
  }

  async reloadTags() {
    const id = this.file.id;
    const { tags } = await api(`/api/files/${id}/tags`);
    if (this.file && this.file.id === id) { this.tags = tags; this.renderTags(); }
  }

  async addTags(names) {
    try {
      const res = await api("/api/tags/add", { method: "POST", json: { ids: [this.file.id], tags: names } });
      this.changed = true;
      await this.reloadTags();
      this.status(res.added ? `Added the tag${res.tags.length === 1 ? "" : "s"} ${res.tags.join(", ")}.` : `This file already had ${res.tags.join(", ")}.`);
    } catch (e) {
      this.status(e.message, { error: true });
    }
  }

  async removeTag(name) {
    try {
      await api("/api/tags/remove", { method: "POST", json: { ids: [this.file.id], tags: [name] } });
      this.changed = true;
      await this.reloadTags();
      this.status(`Removed the tag ${name}.`);
      this.tagField.input.focus();
    } catch (e) {
      this.status(e.message, { error: true });
    }
  }

  async renderScope() {
    const f = this.file;
    const box = $("shift-scope");
    const opts = [el("label", {}, el("input", { type: "radio", name: "shift-scope", value: "this", checked: true }), " Only this file")];
    const sel = this.opts.selection();
    if (sel) opts.push(el("label", {}, el("input", { type: "radio", name: "shift-scope", value: "selection" }), ` The ${fmtInt(sel.count)} selected files`));
    if (f.camera) {
      const label = el("span", { text: ` Every file from the ${f.camera} in this import` });
      opts.push(el("label", {}, el("input", { type: "radio", name: "shift-scope", value: "camera" }), label));
      try {
        const s = await api(`/api/files/summary?job=${f.job_id}&camera=${encodeURIComponent(f.camera)}`);
        if (this.file === f) label.textContent = ` Every file from the ${f.camera} in this import (${fmtInt(s.count)})`;
      } catch { /* the count is only a hint */ }
    }
    box.replaceChildren(el("legend", { class: "field-note", text: "Apply to:" }), ...opts);
    box.addEventListener("change", () => this.describeShift());
    this.describeShift();
  }

  shiftSeconds() {
    const v = (id) => Math.max(0, parseInt($(id).value || "0", 10) || 0);
    return (v("shift-h") * 3600 + v("shift-m") * 60 + v("shift-s")) * +$("shift-dir").value;
  }

  describeShift() {
    const secs = this.shiftSeconds();
    $("shift-apply").disabled = !secs;
    if (!secs) { if (!$("shift-true").value) $("shift-interp").textContent = ""; return; }
    const f = this.file;
    let after = "";
    if (f.captured_at) {
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(f.captured_at);
      const t = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + secs * 1000);
      const iso = t.toISOString().slice(0, 19);
      after = ` This file: ${fmtLocal(f.captured_at)} → ${fmtLocal(iso)}.`;
    }
    $("shift-interp").textContent = `Moves ${this.opts.shiftWords(secs)}.${after}`;
  }

  shiftFromTrueTime(r) {
    const f = this.file;
    if (!r || !f.captured_at) return;
    const toMs = (iso) => { const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso); return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]); };
    const secs = Math.round((toMs(r.value) - toMs(f.captured_at)) / 1000);
    const a = Math.abs(secs);
    $("shift-dir").value = secs < 0 ? "-1" : "1";
    $("shift-h").value = Math.floor(a / 3600);
    $("shift-m").value = Math.floor((a % 3600) / 60);
    $("shift-s").value = a % 60;
    this.describeShift();
  }

  // A stack (a Live Photo, a RAW+JPEG pair, a burst, an edited copy): its files to step
  // through, what a date decision reaches, and for a burst which frames to keep.
  renderStack() {
    const st = this.file.stack;
    $("exam-stack").hidden = !st;
    if (!st) return;
    const n = st.count;
    const titles = {
      live: "Live Photo: the still and its clip", raw_jpeg: "RAW+JPEG: one shot in two files",
      burst: `Burst · ${fmtInt(n)} frames`, edited: "Edited copy beside its original",
    };
    $("exam-stack-title").textContent = titles[st.kind] || `${st.label} · ${fmtInt(n)} files`;
    const notes = [`A date you set or shift here applies to all ${fmtInt(n)} files.`];
    if (st.kind === "burst") {
      notes.push(st.set_aside ? `${fmtInt(n - st.set_aside)} kept, ${fmtInt(st.set_aside)} set aside (they stay here and can be brought back).`
        : "Every frame is kept.");
    }
    $("exam-stack-note").textContent = notes.join(" ");
    const ROLE_WORDS = { still: "still", clip: "clip", raw: "RAW", jpeg: "JPEG", cover: "cover", frame: "frame", original: "original", edited: "edited" };
    $("exam-stack-members").replaceChildren(...st.members.map((m, i) => el("li", {},
      el("button", {
        type: "button", class: `stack-member${m.id === this.file.id ? " current" : ""}${m.set_aside ? " aside" : ""}`,
        "aria-current": m.id === this.file.id ? "true" : null, title: m.name,
        "aria-label": `${i + 1} of ${n}: ${m.name}, ${ROLE_WORDS[m.role] || m.role}${m.set_aside ? ", set aside" : ""}`,
        onclick: () => { if (m.id !== this.file.id) this.load(m.id); },
      },
      m.thumb ? el("img", { src: `/files/${m.id}/thumb`, alt: "", loading: "lazy" }) : el("span", { class: "ph", text: (m.name.split(".").pop() || "").toUpperCase() }),
      // After a burst choice each frame says which way it went; before, its part (cover, frame, RAW…).
      el("span", { class: "role", text: m.set_aside ? "set aside" : st.set_aside ? "kept" : ROLE_WORDS[m.role] || m.role }),
      // A burst's names differ at their end (…BURST003.jpg): show the end of the name (the role says RAW or JPEG).
      el("span", { class: "mname", text: shortName(m.name) })))));
    $("exam-burst").hidden = st.kind !== "burst";
    if (st.kind === "burst") {
      const count = $("burst-count");
      count.max = String(n);
      if (+count.value >= n) count.value = String(Math.max(1, Math.min(3, n - 1)));
    }
  }

  async keepFrames(choice) {
    try {
      const res = await api(`/api/stacks/${this.file.id}/keep`, { method: "POST", json: choice });
      this.changed = true;
      await this.load(this.file.id);
      this.status(`${res.summary}.`, { batch: res.batch_id });
    } catch (e) {
      this.status(e.message, { error: true });
    }
  }

  // ---- actions -----------------------------------------------------------
  async act(action, extra = {}, target = { ids: [this.file.id] }) {
    try {
      const res = await api("/api/review/actions", { method: "POST", json: { action, ...target, ...extra } });
      this.changed = true;
      return res;
    } catch (e) {
      this.status(e.message, { error: true });
      return null;
    }
  }

  async pick(c) {
    const res = await this.act("pick", { candidate: c.index });
    if (!res) return;
    await this.load(this.file.id);
    this.status(`Saved: the date now comes from ${c.label}.`, { batch: res.batch_id });
  }

  async saveTyped() {
    const res = await this.act("set_date", { value: $("exam-date").value });
    if (!res) return;
    await this.load(this.file.id);
    this.status("Saved the date you typed.", { batch: res.batch_id });
  }

  async applyShift() {
    const secs = this.shiftSeconds();
    if (!secs) return;
    const scope = (document.querySelector('input[name="shift-scope"]:checked') || {}).value || "this";
    let target = { ids: [this.file.id] };
    if (scope === "selection") target = this.opts.selection().target;
    if (scope === "camera") target = { selection: { all_matching: true, filter: { job: String(this.file.job_id), camera: this.file.camera }, except: [] } };
    const res = await this.act("shift", { seconds: secs }, target);
    if (!res) return;
    await this.load(this.file.id);
    this.status(`Moved ${fmtInt(res.changed)} file${res.changed === 1 ? "" : "s"} ${this.opts.shiftWords(secs)}.`, { batch: res.batch_id });
  }

  async undo(batchId) {
    await this.opts.undo(batchId, async () => { this.changed = true; await this.load(this.file.id); });
  }

  async confirmAndNext() {
    const f = this.file;
    if (!f) return;
    if (f.review !== "reviewed") {
      const res = await this.act("confirm");
      if (!res) return;
    }
    const nav = await api(`/api/files/${f.id}/neighbours?${this.opts.filterArgs()}`);
    const next = nav.next_needing_review && nav.next_needing_review !== f.id ? nav.next_needing_review : null;
    if (next) await this.load(next);
    else {
      await this.load(f.id);
      this.status("Nothing else here needs a look. Well done!");
    }
  }

  go(which) {
    const id = this.nav[which];
    if (id) this.load(id);
  }

  /** Swipes over the picture (touch or pen, through pointer events): left goes to the next file, right to the
   * previous one, as ← and → do. The picture follows the finger while it moves. */
  listenForSwipes(area) {
    let start = null;
    const picture = () => $("exam-picture");
    const reset = () => {
      start = null;
      picture().style.transform = "";
      picture().classList.remove("swiping");
    };
    area.addEventListener("pointerdown", (e) => {
      if (e.pointerType === "mouse" || !e.isPrimary || e.target.closest("button, video")) return;
      start = { x: e.clientX, y: e.clientY, id: e.pointerId };
    });
    area.addEventListener("pointermove", (e) => {
      if (!start || e.pointerId !== start.id) return;
      const dx = e.clientX - start.x;
      if (Math.abs(dx) > Math.abs(e.clientY - start.y)) {
        picture().classList.add("swiping");
        picture().style.transform = `translateX(${dx}px)`;
      }
    });
    area.addEventListener("pointerup", (e) => {
      if (!start || e.pointerId !== start.id) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      reset();
      if (Math.abs(dx) >= SWIPE_MIN && Math.abs(dx) > SWIPE_RATIO * Math.abs(dy)) this.go(dx < 0 ? "next" : "previous");
    });
    area.addEventListener("pointercancel", reset);
  }

  onKey(e) {
    const t = e.target;
    const typing = t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
    if (typing) return;
    if (e.key === "ArrowLeft") { e.preventDefault(); this.go("previous"); }
    else if (e.key === "ArrowRight") { e.preventDefault(); this.go("next"); }
    else if (e.key === "Enter" && !(t && t.tagName === "BUTTON") && !(t && t.tagName === "A")) { e.preventDefault(); this.confirmAndNext(); }
  }
}
