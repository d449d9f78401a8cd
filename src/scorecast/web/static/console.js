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

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".progress[data-job]").forEach(follow);
});
