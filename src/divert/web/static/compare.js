/* divert: the comparison page's charts (Chart.js 4, shipped with the package).
   The data is the page's <script type="application/json" id="chart-data"> block: per key metric,
   the months and, per scenario, its monthly mean, low and high (the band). Each scenario becomes
   three datasets: the band's low edge, its high edge filled down to the low one, and the mean line. */
(function () {
  "use strict";

  function hexAlpha(colour, alpha) {
    return colour + Math.round(alpha * 255).toString(16).padStart(2, "0");
  }

  function datasetsOf(chart) {
    const out = [];
    for (const s of chart.series) {
      out.push({ label: s.label + " (band low)", data: s.low, band: true, borderWidth: 0,
                 pointRadius: 0, fill: false, borderColor: "transparent" });
      out.push({ label: s.label + " (band high)", data: s.high, band: true, borderWidth: 0,
                 pointRadius: 0, fill: "-1", borderColor: "transparent",
                 backgroundColor: hexAlpha(s.colour, 0.18) });
      out.push({ label: s.label, data: s.mean, borderColor: s.colour, backgroundColor: s.colour,
                 borderWidth: 2, pointRadius: 0, pointHitRadius: 6, fill: false });
    }
    return out;
  }

  function number(value) {
    if (value === null || value === undefined) return "n/a";
    return value.toLocaleString(undefined, { maximumFractionDigits: Math.abs(value) < 100 ? 1 : 0 });
  }

  function draw() {
    const source = document.getElementById("chart-data");
    if (!source || typeof Chart === "undefined") return;
    for (const chart of JSON.parse(source.textContent)) {
      const canvas = document.getElementById("chart-" + chart.metric);
      if (!canvas || Chart.getChart(canvas)) continue;
      new Chart(canvas, {
        type: "line",
        data: { labels: chart.months, datasets: datasetsOf(chart) },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].band } },
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
            y: { beginAtZero: true, title: { display: true, text: chart.unit } }
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
