/* divert: the comparison pages' charts (Chart.js 4, shipped with the package).
   The data is the page's <script type="application/json" id="chart-data"> block: per chart, the
   months and, per series, its monthly mean, low and high (the band). Each series becomes three
   datasets: the band's low edge, its high edge filled down to the low one (both edges dashed in
   the series' colour, so an overlapping band stays visible), and the mean line. Legends are in
   the page (a list under each chart). Side-by-side charts (`kind` levels or difference) shade
   the `before` months (before the reform takes effect); difference charts draw the zero line. */
(function () {
  "use strict";

  function hexAlpha(colour, alpha) {
    return colour + Math.round(alpha * 255).toString(16).padStart(2, "0");
  }

  function datasetsOf(chart) {
    const out = [];
    for (const s of chart.series) {
      out.push({ label: s.label + " (band low)", data: s.low, band: true, borderWidth: 1,
                 borderDash: [4, 3], pointRadius: 0, fill: false,
                 borderColor: hexAlpha(s.colour, 0.7) });
      out.push({ label: s.label + " (band high)", data: s.high, band: true, borderWidth: 1,
                 borderDash: [4, 3], pointRadius: 0, fill: "-1",
                 borderColor: hexAlpha(s.colour, 0.7), backgroundColor: hexAlpha(s.colour, 0.12) });
      out.push({ label: s.label, data: s.mean, borderColor: s.colour, backgroundColor: s.colour,
                 borderWidth: 2, pointRadius: 0, pointHitRadius: 6, fill: false });
    }
    return out;
  }

  function number(value) {
    if (value === null || value === undefined) return "n/a";
    return value.toLocaleString(undefined, { maximumFractionDigits: Math.abs(value) < 100 ? 1 : 0 });
  }

  /* The before period (grey, behind the lines) and, on difference charts, the zero line. */
  const marks = {
    id: "divertMarks",
    beforeDatasetsDraw(c, args, options) {
      const { ctx, chartArea: area, scales: { x, y } } = c;
      ctx.save();
      if (options.before > 0) {
        const end = options.before >= options.length ? area.right
          : (x.getPixelForValue(options.before - 1) + x.getPixelForValue(options.before)) / 2;
        ctx.fillStyle = "rgba(120, 120, 120, 0.16)";
        ctx.fillRect(area.left, area.top, end - area.left, area.bottom - area.top);
      }
      if (options.zero) {
        const y0 = y.getPixelForValue(0);
        if (y0 >= area.top && y0 <= area.bottom) {
          ctx.strokeStyle = "#000";
          ctx.lineWidth = 1;
          ctx.beginPath();
          ctx.moveTo(area.left, y0);
          ctx.lineTo(area.right, y0);
          ctx.stroke();
        }
      }
      ctx.restore();
    }
  };

  /* Overview bars: the 95% interval of each bar as a whisker. */
  const whiskers = {
    id: "divertWhiskers",
    afterDatasetsDraw(c, args, options) {
      if (!options.low) return;
      const { ctx, scales: { x, y } } = c;
      ctx.save();
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      options.low.forEach((low, i) => {
        const high = options.high[i];
        if (low === null || high === null) return;
        const yc = y.getPixelForValue(i);
        const x0 = x.getPixelForValue(low), x1 = x.getPixelForValue(high);
        ctx.beginPath();
        ctx.moveTo(x0, yc); ctx.lineTo(x1, yc);
        ctx.moveTo(x0, yc - 6); ctx.lineTo(x0, yc + 6);
        ctx.moveTo(x1, yc - 6); ctx.lineTo(x1, yc + 6);
        ctx.stroke();
      });
      ctx.restore();
    }
  };

  function overview(canvas, chart) {
    const colours = chart.resolved.map((ok) => (ok ? "#1f77b4" : "#b0b0b0"));
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels,
              datasets: [{ label: chart.reform, data: chart.mean, backgroundColor: colours }] },
      plugins: [whiskers],
      options: {
        indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          divertWhiskers: { low: chart.low, high: chart.high },
          tooltip: { callbacks: { label: (item) => chart.rows[item.dataIndex].text } }
        },
        scales: {
          x: { title: { display: true, text: chart.unit },
               suggestedMin: Math.min(0, ...chart.low.filter((v) => v !== null)),
               suggestedMax: Math.max(0, ...chart.high.filter((v) => v !== null)) }
        }
      }
    });
  }

  function draw() {
    const source = document.getElementById("chart-data");
    if (!source || typeof Chart === "undefined") return;
    for (const chart of JSON.parse(source.textContent)) {
      const canvas = document.getElementById("chart-" + (chart.id || chart.metric));
      if (!canvas || Chart.getChart(canvas)) continue;
      if (chart.kind === "overview") {
        overview(canvas, chart);
        continue;
      }
      new Chart(canvas, {
        type: "line",
        data: { labels: chart.months, datasets: datasetsOf(chart) },
        plugins: [marks],
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            divertMarks: { before: chart.before || 0, length: chart.months.length,
                           zero: chart.kind === "difference" },
            legend: { display: false },  // each figure's legend is in the page, beside it
            tooltip: {
              filter: (item) => !item.dataset.band,
              callbacks: {
                label: (item) => {
                  const s = chart.series[Math.floor(item.datasetIndex / 3)];
                  const i = item.dataIndex;
                  return s.label + ": " + number(s.mean[i]) + " [" + number(s.low[i]) + " to " +
                    number(s.high[i]) + "]";
                }
              }
            }
          },
          scales: {
            x: { ticks: { maxTicksLimit: 12, autoSkip: true } },
            y: { beginAtZero: true, title: { display: true, text: chart.unit },
                 ticks: { callback: (value) => number(value) } }
          }
        }
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
