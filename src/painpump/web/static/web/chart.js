/* painpump: draws the patient chart's and the what-if page's charts with Chart.js from the data
   the page carries in <script type="application/json"> blocks (json_script). Every number comes
   from the server (painpump.core); this script only draws it. Content that htmx swaps in
   carries its data in a data-series attribute instead (htmx removes every <script> it swaps). Instants are milliseconds since the
   epoch and are shown in UTC, as the page's text shows them. No inline script: the page's
   Content-Security-Policy forbids it. */
(function () {
  "use strict";

  var DAY = 86400000;
  var COLOURS = {
    projection: "#1f5f8b",
    proposed: "#6b2c91",
    alarm: "#a11d1d",
    refillBy: "#8a5300",
    appointment: "#1e6b3a",
    now: "#53606e",
    past: "#8895a3",
    ok: "#1e6b3a",
    off: "#a11d1d",
  };
  var PALETTE = ["#1f5f8b", "#a11d1d", "#1e6b3a", "#8a5300", "#6b2c91", "#53606e", "#0f7c8c"];

  function day(ms) {
    return new Date(ms).toLocaleDateString("en-GB", {
      day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
    });
  }

  function moment(ms) {
    return new Date(ms).toLocaleString("en-GB", {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      timeZone: "UTC",
    }) + " UTC";
  }

  function data(canvas) {
    if (canvas.dataset.series) { return JSON.parse(canvas.dataset.series); }
    var source = document.getElementById(canvas.dataset.source);
    return source ? JSON.parse(source.textContent) : null;
  }

  function vertical(label, x, top, colour, dash) {
    return {
      label: label, data: [{ x: x, y: 0 }, { x: x, y: top }], borderColor: colour,
      backgroundColor: colour, borderWidth: 2, borderDash: dash || [], pointRadius: 0,
      pointHitRadius: 0,
    };
  }

  function horizontal(label, from, to, y, colour) {
    return {
      label: label, data: [{ x: from, y: y }, { x: to, y: y }], borderColor: colour,
      backgroundColor: colour, borderWidth: 1.5, borderDash: [6, 4], pointRadius: 0,
      pointHitRadius: 0,
    };
  }

  function timeAxis(title) {
    return {
      type: "linear",
      title: { display: !!title, text: title || "" },
      ticks: { callback: function (value) { return day(value); }, maxRotation: 0, autoSkip: true },
    };
  }

  function baseOptions(yTitle, yMax) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: { xAxisKey: "x", yAxisKey: "y" },
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: timeAxis(""),
        y: { min: 0, suggestedMax: yMax, title: { display: true, text: yTitle } },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 14 } },
        tooltip: {
          callbacks: {
            title: function (items) { return items.length ? moment(items[0].parsed.x) : ""; },
          },
        },
      },
    };
  }

  function volumeLabel(item) {
    var point = item.raw || {};
    var text = item.dataset.label + ": " + item.parsed.y + " mL";
    return point.note ? text + " (" + point.note + ")" : text;
  }

  function projectionSet(label, projection, colour) {
    return {
      label: label,
      data: projection.points.map(function (p) { return { x: p.x, y: p.y, note: p.label }; }),
      borderColor: colour, backgroundColor: colour, borderWidth: 2.5, pointRadius: 3,
    };
  }

  function pastSets(refills) {
    var line = [];
    for (var i = 0; i + 1 < refills.length; i++) {
      var next = refills[i + 1];
      var end = next.expected !== null ? next.expected : next.aspirated;
      if (end === null) { continue; }
      line.push({ x: refills[i].x, y: refills[i].filled });
      line.push({ x: next.x, y: end });
      line.push({ x: next.x, y: null });
    }
    var reconciled = refills.filter(function (r) { return r.aspirated !== null; });
    return [
      {
        label: "Past fills (filled, then expected at the next refill)", data: line,
        borderColor: COLOURS.past, backgroundColor: COLOURS.past, borderWidth: 1,
        borderDash: [3, 3], pointRadius: 0, spanGaps: false,
      },
      {
        label: "Filled to", data: refills.map(function (r) { return { x: r.x, y: r.filled }; }),
        showLine: false, pointStyle: "triangle", pointRadius: 5,
        borderColor: COLOURS.projection, backgroundColor: COLOURS.projection,
      },
      {
        label: "Expected at refill",
        data: reconciled.map(function (r) { return { x: r.x, y: r.expected, note: r.verdict }; }),
        showLine: false, pointRadius: 7, borderWidth: 2, borderColor: COLOURS.now,
        backgroundColor: "rgba(255, 255, 255, 0)",
      },
      {
        label: "Aspirated at refill",
        data: reconciled.map(function (r) { return { x: r.x, y: r.aspirated, note: r.verdict }; }),
        showLine: false, pointRadius: 3.5,
        pointBackgroundColor: reconciled.map(function (r) {
          return r.finding === "none" ? COLOURS.ok : COLOURS.off;
        }),
        pointBorderColor: reconciled.map(function (r) {
          return r.finding === "none" ? COLOURS.ok : COLOURS.off;
        }),
        borderColor: COLOURS.ok, backgroundColor: COLOURS.ok,
      },
    ];
  }

  function reservoirRange(d, range) {
    var end = Math.max(d.empty_at, d.now) + 7 * DAY;
    if (range === "fill") { return [d.fill_at - 3 * DAY, end]; }
    var first = d.refills.length ? d.refills[0].x : d.fill_at;
    if (range === "all") { return [first - 3 * DAY, end]; }
    return [Math.max(first - 3 * DAY, Math.min(d.now, d.fill_at) - 365 * DAY), end];
  }

  function reservoir(canvas, d) {
    var top = d.capacity;
    var range = reservoirRange(d, "year");
    var sets = [projectionSet("Projected volume", d, COLOURS.projection)];
    sets.push(horizontal("Low-reservoir alarm volume", range[0] - 3650 * DAY, range[1] + 3650 * DAY, d.alarm_volume, COLOURS.alarm));
    sets.push(vertical("Refill by", d.refill_by, top, COLOURS.refillBy, [8, 4]));
    if (d.appointment !== null) {
      sets.push(vertical("Refill appointment", d.appointment, top, COLOURS.appointment, [2, 3]));
    }
    sets.push(vertical("Now", d.now, top, COLOURS.now, [1, 4]));
    sets = sets.concat(pastSets(d.refills));
    var options = baseOptions("Reservoir (mL)", top);
    options.scales.x.min = range[0];
    options.scales.x.max = range[1];
    options.scales.y.max = top;
    options.plugins.tooltip.callbacks.label = volumeLabel;
    return new Chart(canvas, { type: "line", data: { datasets: sets }, options: options });
  }

  function whatif(canvas, d) {
    var top = d.capacity;
    var main = d.proposed || d.current;
    var sets = [projectionSet("Now (current fill and program)", d.current, COLOURS.projection)];
    if (d.proposed) { sets.push(projectionSet("Proposed", d.proposed, COLOURS.proposed)); }
    var from = Math.min(main.fill_at, d.current.fill_at);
    var to = Math.max(main.empty_at, d.current.empty_at, d.now) + 7 * DAY;
    sets.push(horizontal("Low-reservoir alarm volume", from, to, main.alarm_volume, COLOURS.alarm));
    sets.push(vertical(d.proposed ? "Proposed refill by" : "Refill by", main.refill_by, top, COLOURS.refillBy, [8, 4]));
    sets.push(vertical("Now", d.now, top, COLOURS.now, [1, 4]));
    var options = baseOptions("Reservoir (mL)", top);
    options.scales.x.min = from - DAY;
    options.scales.x.max = to;
    options.scales.y.max = top;
    options.plugins.tooltip.callbacks.label = volumeLabel;
    return new Chart(canvas, { type: "line", data: { datasets: sets }, options: options });
  }

  function doses(canvas, d) {
    var sets = d.series.map(function (s, i) {
      return {
        label: s.label, data: s.points, borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length], borderWidth: 2, pointRadius: 2,
      };
    });
    var options = baseOptions("Daily dose", undefined);
    options.plugins.tooltip.callbacks.label = function (item) {
      return item.dataset.label + ": " + item.parsed.y;
    };
    return new Chart(canvas, { type: "line", data: { datasets: sets }, options: options });
  }

  function outcomes(canvas, d) {
    var hasDose = d.series.some(function (s) { return s.axis === "dose"; });
    var sets = d.series.map(function (s, i) {
      return {
        label: s.label, data: s.points, yAxisID: s.axis === "dose" ? "dose" : "y",
        borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
        borderWidth: 2, pointRadius: 3,
      };
    });
    var options = baseOptions("Score (pain 0-10, Ashworth 0-4)", 10);
    options.scales.y.max = 10;
    if (hasDose) {
      options.scales.dose = {
        position: "right", min: 0, grid: { drawOnChartArea: false },
        title: { display: true, text: "Oral morphine-equivalent (mg/day)" },
      };
    }
    options.plugins.tooltip.callbacks.label = function (item) {
      return item.dataset.label + ": " + ((item.raw && item.raw.shown) || item.parsed.y);
    };
    return new Chart(canvas, { type: "line", data: { datasets: sets }, options: options });
  }

  var KINDS = { reservoir: reservoir, whatif: whatif, doses: doses, outcomes: outcomes };

  function draw(root) {
    if (typeof Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (Chart.getChart(canvas)) { return; }
      var d = data(canvas);
      var kind = KINDS[canvas.dataset.chart];
      if (d && kind) { kind(canvas, d); }
    });
  }

  function forget(root) {
    if (typeof Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = Chart.getChart(canvas);
      if (chart) { chart.destroy(); }
    });
  }

  function choosePeriod(event) {
    var button = event.target.closest("button[data-range]");
    if (!button) { return; }
    var canvas = document.getElementById(button.dataset.chartTarget);
    var chart = canvas && Chart.getChart(canvas);
    var d = canvas && data(canvas);
    if (!chart || !d) { return; }
    var range = reservoirRange(d, button.dataset.range);
    chart.options.scales.x.min = range[0];
    chart.options.scales.x.max = range[1];
    chart.update();
    button.parentElement.querySelectorAll("button[data-range]").forEach(function (other) {
      other.setAttribute("aria-pressed", other === button ? "true" : "false");
    });
  }

  // A swapped canvas carries no id: htmx would copy the old canvas's style attribute (set by
  // Chart.js) onto the new one while settling, which the Content-Security-Policy refuses.
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("click", choosePeriod);
  document.addEventListener("htmx:beforeSwap", function (event) { forget(event.detail.target); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
