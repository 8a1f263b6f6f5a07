// A text field for tag names with suggestions from existing tags (most used
// first). Comma or Enter turns what was typed into a chip; ↓/↑ move through the
// suggestions, Enter or a click takes one, Esc closes them, Backspace in an
// empty field takes the last chip back. With `immediate`, names are handed to
// `onAdd` at once instead of collecting chips (the examination view).
import { api, el, fmtInt } from "./common.js";

/** Names once each, compared without case; the first spelling wins. */
function onceEach(names) {
  const seen = new Set();
  return names.filter((n) => { const k = n.toLowerCase(); if (seen.has(k)) return false; seen.add(k); return true; });
}

let seq = 0;

export class TagField {
  constructor(host, { placeholder = "add a tag…", label = "Tags", immediate = false, onAdd = null, onChange = null, exclude = () => [] } = {}) {
    this.immediate = immediate;
    this.onAdd = onAdd;
    this.onChange = onChange;
    this.exclude = exclude;
    this.names = [];
    this.options = [];
    this.active = -1;
    this.timer = null;
    this.asked = 0;
    const id = `tagfield-${++seq}`;
    this.chips = el("span", { class: "tf-chips" });
    this.input = el("input", {
      type: "text", class: "tf-input", placeholder, autocomplete: "off", spellcheck: "false",
      role: "combobox", "aria-label": label, "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": `${id}-list`,
    });
    this.list = el("ul", { class: "tf-list", id: `${id}-list`, role: "listbox", "aria-label": "Existing tags", hidden: true });
    this.root = el("div", { class: "tagfield" }, this.chips, this.input, this.list);
    this.root.addEventListener("click", (e) => { if (e.target === this.root || e.target === this.chips) this.input.focus(); });
    host.replaceChildren(this.root);

    this.input.addEventListener("input", () => {
      if (this.input.value.includes(",")) {
        const parts = this.input.value.split(",");
        this.input.value = parts.pop();
        this.take(parts);
      }
      if (this.input.value.trim()) this.suggest();
      else { this.close(); if (this.onChange) this.onChange(this.values()); }
    });
    this.input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.input.addEventListener("keydown", (e) => this.onKey(e));
  }

  /** The chips plus whatever is still typed in the field. */
  values() {
    const typed = this.input.value.split(",").map((s) => s.trim().replace(/\s+/g, " ")).filter(Boolean);
    return onceEach([...this.names, ...typed]);
  }

  clear() {
    this.names = [];
    this.input.value = "";
    this.renderChips();
    this.close();
  }

  take(raw) {
    // The case stays as typed; "Holiday" and "holiday" are one tag (the server matches case-folded).
    const names = onceEach(raw.map((s) => s.trim().replace(/\s+/g, " ")).filter(Boolean));
    if (!names.length) return;
    if (this.immediate) { if (this.onAdd) this.onAdd(names); return; }
    this.names = onceEach([...this.names, ...names]);
    this.renderChips();
  }

  renderChips() {
    this.chips.replaceChildren(...this.names.map((n) => el("span", { class: "tag-chip" }, n,
      el("button", { type: "button", class: "x", "aria-label": `Do not add ${n}`, title: "Take this one back",
        onclick: () => { this.names = this.names.filter((x) => x !== n); this.renderChips(); this.input.focus(); } }, "×"))));
    if (this.onChange) this.onChange(this.values());
  }

  suggest() {
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      const q = this.input.value.trim();
      const ask = ++this.asked;
      try {
        const { tags } = await api(`/api/tags?limit=12&q=${encodeURIComponent(q)}`);
        if (ask !== this.asked || document.activeElement !== this.input) return;
        const skip = new Set([...this.names, ...this.exclude()]);
        this.options = tags.filter((t) => !skip.has(t.name)).slice(0, 8);
        this.active = -1;
        this.renderList();
      } catch { /* suggestions only */ }
    }, 120);
    if (this.onChange) this.onChange(this.values());
  }

  renderList() {
    const items = this.options.map((t, i) => el("li", {
      role: "option", id: `${this.list.id}-${i}`, "aria-selected": i === this.active ? "true" : "false",
      class: i === this.active ? "active" : "", "data-name": t.name,
      onmousedown: (e) => { e.preventDefault(); this.pick(i); },
    }, el("span", { class: "n", text: t.name }), el("span", { class: "uses", text: `${fmtInt(t.uses)} file${t.uses === 1 ? "" : "s"}` })));
    this.list.replaceChildren(...items);
    const open = items.length > 0;
    this.list.hidden = !open;
    this.input.setAttribute("aria-expanded", open ? "true" : "false");
    if (this.active >= 0) this.input.setAttribute("aria-activedescendant", `${this.list.id}-${this.active}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  close() {
    clearTimeout(this.timer);
    this.asked++; // an answer still on its way is not shown
    this.options = [];
    this.active = -1;
    this.renderList();
  }

  pick(i) {
    const t = this.options[i];
    if (!t) return;
    this.input.value = "";
    this.take([t.name]);
    this.close();
    this.input.focus();
  }

  onKey(e) {
    const open = !this.list.hidden;
    if (e.key === "ArrowDown" && !open) {
      e.preventDefault();
      this.suggest(); // an empty field lists the most used tags
    } else if (e.key === "ArrowDown" && this.options.length) {
      e.preventDefault();
      this.active = (this.active + 1) % this.options.length;
      this.renderList();
    } else if (e.key === "ArrowUp" && this.options.length) {
      e.preventDefault();
      this.active = this.active <= 0 ? this.options.length - 1 : this.active - 1;
      this.renderList();
    } else if (e.key === "Enter") {
      e.preventDefault();
      e.stopPropagation();
      if (open && this.active >= 0) { this.pick(this.active); return; }
      if (this.input.value.trim()) {
        this.take([this.input.value]);
        this.input.value = "";
        this.close();
      } else if (!this.immediate) {
        this.root.dispatchEvent(new CustomEvent("tagfield:submit", { bubbles: true }));
      }
    } else if (e.key === "Escape" && open) {
      e.preventDefault();
      e.stopPropagation();
      this.close();
    } else if (e.key === "Backspace" && !this.input.value && this.names.length && !this.immediate) {
      this.names.pop();
      this.renderChips();
    }
  }
}
