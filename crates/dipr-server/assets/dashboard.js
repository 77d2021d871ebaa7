// Draws the statistics dashboard from the JSON the server embedded in #stats-data.
(function () {
  var el = document.getElementById('stats-data');
  if (!el || !window.Chart) return;
  var d = JSON.parse(el.textContent);
  var palette = ['#8c1e1e', '#c9a227', '#2f5d8a', '#5b8c3a', '#7a4e9c', '#b7791f', '#3d7f7a', '#a3475d', '#6b6b6b'];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#1f1f1f';
  Chart.defaults.animation = false;
  function pick(rows, key) { return rows.map(function (r) { return r[key]; }); }
  function make(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }
  make('chart-monthly', {
    type: 'bar',
    data: {
      labels: pick(d.monthly, 'month'),
      datasets: [
        { label: d.labels.applications, data: pick(d.monthly, 'applications'), backgroundColor: palette[0] },
        { label: d.labels.certificates, data: pick(d.monthly, 'certificates'), backgroundColor: palette[1] }
      ]
    },
    options: { responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  function pie(id, rows, key, type) {
    make(id, {
      type: type || 'doughnut',
      data: { labels: pick(rows, 'label'), datasets: [{ data: pick(rows, key), backgroundColor: palette }] },
      options: { responsive: true, plugins: { legend: { position: 'bottom' } } }
    });
  }
  pie('chart-types', d.types, 'count');
  make('chart-industries', {
    type: 'bar',
    data: { labels: pick(d.industries, 'label'), datasets: [{ data: pick(d.industries, 'count'), backgroundColor: palette[2] }] },
    options: { indexAxis: 'y', responsive: true, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  pie('chart-value', d.value, 'yuan');
  pie('chart-applicants', d.applicants, 'count', 'pie');
  make('chart-ownership', {
    type: 'bar',
    data: { labels: pick(d.ownership, 'label'), datasets: [{ data: pick(d.ownership, 'count'), backgroundColor: palette[3] }] },
    options: { responsive: true, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  document.body.setAttribute('data-charts', String(Object.keys(Chart.instances).length));
})();
