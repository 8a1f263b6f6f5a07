// The settings page: live checks of the archive folder and the layout, then save.
import { api, el, toast } from "./common.js";

const $ = (id) => document.getElementById(id);
const form = $("settings-form");
const initial = { output: $("s-output").value, timezone: $("s-timezone").value, layout: $("s-layout").value };

function debounce(fn, ms = 250) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

const checkOutput = debounce(async () => {
  const r = await api(`/api/settings/check-output?path=${encodeURIComponent($("s-output").value)}`);
  $("s-output-check").textContent = r.message;
  $("s-output-check").className = r.ok ? "ok" : "bad";
});
const checkLayout = debounce(async () => {
  const r = await api(`/api/settings/layout-example?layout=${encodeURIComponent($("s-layout").value)}`);
  $("s-layout-error").hidden = r.ok;
  $("s-layout-error").textContent = r.ok ? "" : r.error;
  $("s-layout-example").textContent = r.ok ? r.example : "—";
  $("s-layout-warnings").replaceChildren(...(r.warnings || []).map((w) => el("li", { text: w })));
});
$("s-output").addEventListener("input", checkOutput);
$("s-layout").addEventListener("input", checkLayout);
$("s-layout-reset").addEventListener("click", (e) => { $("s-layout").value = e.target.dataset.default; checkLayout(); });

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const changes = {};
  for (const key of ["output", "timezone", "layout"]) {
    const input = form.elements[key];
    if (!input.disabled && input.value !== initial[key]) changes[key] = input.value;
  }
  if (!Object.keys(changes).length) { $("s-result").textContent = "Nothing to save: nothing was changed."; return; }
  try {
    const r = await api("/api/settings", { method: "POST", json: changes });
    Object.assign(initial, { output: r.output, timezone: r.timezone, layout: r.layout });
    $("s-output").value = r.output;
    $("s-timezone-origin").textContent = `${r.timezone.replaceAll("_", " ")}: ${r.timezone_origin.words}.`;
    $("s-result").textContent = r.notice;
    $("s-result").className = "ok";
    toast(r.notice);
  } catch (err) {
    $("s-result").textContent = err.message;
    $("s-result").className = "bad";
  }
});
