// The history page's charts (ECharts, served by the project: /static/vendor).
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('history-data').textContent);
  function chart(id, option) {
    var node = document.getElementById(id);
    var c = echarts.init(node);
    option.title = { text: node.dataset.title, textStyle: { fontSize: 14 } };
    option.tooltip = option.tooltip || { trigger: 'axis' };
    c.setOption(option);
    node.dataset.drawn = 'true';
    window.addEventListener('resize', function () { c.resize(); });
  }
  var labels = JSON.parse(document.getElementById('chart-days').dataset.labels);
  chart('chart-days', {
    legend: { top: 24 }, grid: { top: 60 },
    xAxis: { type: 'category', data: data.series.days }, yAxis: { type: 'value' },
    series: [{ name: labels.conversations, type: 'bar', data: data.series.conversations },
             { name: labels.handoffs, type: 'bar', data: data.series.handoffs }]
  });
  chart('chart-reasons', {
    tooltip: { trigger: 'item' },
    series: [{ type: 'pie', radius: '60%', top: 30, data: data.reasons.map(function (r) { return { name: r.reason, value: r.count }; }) }]
  });
  chart('chart-waits', {
    xAxis: { type: 'category', data: ['≤20 s', '≤60 s', '≤3 min', '≤10 min', '>10 min'] }, yAxis: { type: 'value' },
    series: [{ type: 'bar', data: ['wait_le_20', 'wait_le_60', 'wait_le_180', 'wait_le_600', 'wait_over_600'].map(function (k) { return data.waits[k]; }) }]
  });
  chart('chart-csat', {
    xAxis: { type: 'category', data: ['1', '2', '3', '4', '5'] }, yAxis: { type: 'value' },
    series: [{ type: 'bar', data: ['1', '2', '3', '4', '5'].map(function (k) { return data.csat[k]; }) }]
  });
})();
