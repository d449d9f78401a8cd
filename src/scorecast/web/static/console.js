// scorecast console: live job progress over server-sent events. No inline script anywhere
// (the Content-Security-Policy forbids it); this file is served by scorecast itself.
"use strict";

function formatNumber(value) {
  return Number(value).toLocaleString("en-US");
}

function follow(box) {
  const id = box.dataset.job;
  if (!id || box.dataset.finished === "true") return;
  const source = new EventSource("/jobs/" + encodeURIComponent(id) + "/events");
  source.onmessage = function (event) {
    const state = JSON.parse(event.data);
    const bar = box.querySelector('[data-field="bar"]');
    if (bar) { bar.value = state.percentage; bar.textContent = state.percentage + " %"; }
    const set = function (field, text) {
      const el = box.querySelector('[data-field="' + field + '"]');
      if (el) el.textContent = text;
    };
    set("percentage", state.percentage);
    set("scoredRows", formatNumber(state.scoredRows));
    set("failedRows", formatNumber(state.failedRows));
    set("rowsPerSecond", state.rowsPerSecond);
    set("eta", state.eta);
    const status = box.querySelector('[data-field="status"] .status');
    if (status) {
      status.textContent = state.status;
      status.className = "status status-" + state.status.toLowerCase();
    }
    const details = document.querySelector('[data-job-details="' + id + '"]');
    if (details) details.textContent = state.statusDetails;
    const download = document.querySelector('[data-download="' + id + '"]');
    if (download && state.downloadable) download.classList.remove("hidden");
    if (state.finished) {
      const abort = document.querySelector('[data-abort="' + id + '"]');
      if (abort) abort.classList.add("hidden");
      box.dataset.finished = "true";
      source.close();
    }
  };
  source.onerror = function () {
    if (box.dataset.finished === "true") source.close();
  };
}

// The schedule editor: as the user types, ask /schedules/preview for the description, the
// warnings and the next fires of the typed fields, and show them (or the fields' problems).
function schedulePreview(form) {
  const section = document.getElementById("schedule-preview");
  if (!section) return;
  let timer = null;
  let asked = 0;
  const part = function (name) { return section.querySelector('[data-preview="' + name + '"]'); };
  const showErrors = function (errors) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) {
      const field = el.dataset.errorFor;
      el.textContent = errors[field] || "";
      const input = form.querySelector('[name="' + field + '"]');
      if (!input) return;
      if (errors[field]) {
        input.setAttribute("aria-invalid", "true");
        if (el.id) input.setAttribute("aria-describedby", el.id);
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
  };
  const show = function (answer) {
    part("description").textContent = answer.description;
    const warnings = part("warnings");
    warnings.replaceChildren();
    answer.warnings.forEach(function (text) {
      const item = document.createElement("li");
      item.textContent = text;
      warnings.appendChild(item);
    });
    const fires = part("fires");
    fires.replaceChildren();
    answer.fires.forEach(function (fire) {
      const row = document.createElement("tr");
      [fire.utc, fire.local, fire.dst].forEach(function (text) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      fires.appendChild(row);
    });
  };
  const ask = function () {
    const params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf") params.append(key, value);
    });
    const mine = ++asked;
    fetch("/schedules/preview?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (mine !== asked) return; // a newer answer is on its way
        if (body.valid) { showErrors({}); show(body); section.dataset.state = "ok"; }
        else {
          showErrors(body.errors || {});
          part("description").textContent = body.message;
          part("warnings").replaceChildren();
          part("fires").replaceChildren();
          section.dataset.state = "error";
        }
      });
  };
  form.addEventListener("input", function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(ask, 250);
  });
}

// A backfill's figures and bar, polled while it runs (its row in a list, or its own page,
// which reloads once when it ends so that its table of fire times is final).
function followBackfill(box) {
  if (box.dataset.finished === "true") return;
  const poll = function () {
    fetch(box.dataset.backfill, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) return;
        ["done", "failed", "active", "total"].forEach(function (field) {
          const el = box.querySelector('[data-field="' + field + '"]');
          if (el) el.textContent = formatNumber(state[field]);
        });
        const bar = box.querySelector('[data-field="bar"]');
        if (bar) { bar.value = state.percentage; bar.textContent = state.percentage + " %"; }
        const status = box.querySelector('[data-field="status"]');
        if (status) {
          status.textContent = state.status;
          status.className = "status status-" + state.status;
        }
        if (!state.finished) { setTimeout(poll, 2000); return; }
        if (box.dataset.reload === "true") { window.location.reload(); return; }
        const cancel = box.querySelector("[data-cancel]");
        if (cancel) cancel.classList.add("hidden");
      });
  };
  setTimeout(poll, 1000);
}

// The backfill form: as the user types, count the fire times of the range
// (/definitions/{id}/backfills/preview) and show the fields' problems.
function backfillPreview(form) {
  const line = document.getElementById("backfill-preview");
  if (!line) return;
  let timer = null;
  let asked = 0;
  const showErrors = function (errors) {
    form.querySelectorAll("span[data-error-for]").forEach(function (el) {
      const field = el.dataset.errorFor;
      el.textContent = errors[field] || "";
      const input = form.querySelector('[name="' + field + '"]');
      if (!input) return;
      if (errors[field]) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  };
  const ask = function () {
    const params = new URLSearchParams();
    ["start", "end", "maxConcurrent"].forEach(function (name) {
      params.append(name, form.elements[name].value);
    });
    if (form.elements.rerun.checked) params.append("rerun", "true");
    const mine = ++asked;
    fetch(form.dataset.previewUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (mine !== asked) return; // a newer answer is on its way
        if (body.valid) {
          showErrors({});
          line.textContent = body.text + " First " + body.first + ", last " + body.last + ".";
          line.dataset.state = "ok";
        } else {
          showErrors(body.errors || {});
          line.textContent = body.message;
          line.dataset.state = "error";
        }
      });
  };
  form.addEventListener("input", function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(ask, 400);
  });
}

// The credential form shows only the chosen type's secret fields (all of them without script).
function credentialFields(select) {
  const show = function () {
    document.querySelectorAll("[data-credential-type]").forEach(function (set) {
      set.classList.toggle("hidden", set.dataset.credentialType !== select.value);
    });
  };
  select.addEventListener("change", show);
  show();
}

document.addEventListener("DOMContentLoaded", function () {
  const kind = document.getElementById("c-type");
  if (kind) credentialFields(kind);
  document.querySelectorAll(".progress[data-job]").forEach(follow);
  const editor = document.getElementById("schedule-editor");
  if (editor) schedulePreview(editor);
  document.querySelectorAll("[data-backfill]").forEach(followBackfill);
  const backfill = document.getElementById("backfill-form");
  if (backfill) backfillPreview(backfill);
});
