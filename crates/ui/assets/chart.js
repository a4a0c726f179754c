// Charts for the dashboards, drawn as SVG with createElementNS: every value
// becomes a number in an attribute or a text node, never markup, and colours
// come from classes in app.css (the CSP forbids inline style). No third-party code.
//
//   HSChart.line({ title, unit, max, utc, series: [{ label, points: [[time, value]] }] })
//   HSChart.bars({ title, unit, bars: [{ label, value }] })
//
// Each returns a <figure> with the chart, a caption, and a visually hidden
// table of the same figures for screen readers.
(function () {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';
  const W = 640;
  const H = 200;
  const PAD = { left: 52, right: 12, top: 12, bottom: 28 };

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const key of Object.keys(attrs || {})) {
      if (key === 'style' || key.startsWith('on')) continue;
      node.setAttribute(key, String(attrs[key]));
    }
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function num(value) {
    const n = Number(value);
    return Number.isFinite(n) ? n : 0;
  }

  // 1234567 -> "1.2M"; keeps axis labels short.
  function short(value, unit) {
    const v = num(value);
    const steps = [
      [1e12, 'T'],
      [1e9, 'G'],
      [1e6, 'M'],
      [1e3, 'k'],
    ];
    let text = String(Math.round(v * 10) / 10);
    for (const [size, suffix] of steps) {
      if (Math.abs(v) >= size) {
        text = String(Math.round((v / size) * 10) / 10) + suffix;
        break;
      }
    }
    return unit ? text + ' ' + unit : text;
  }

  function niceMax(value) {
    const v = Math.max(num(value), 1e-9);
    const power = Math.pow(10, Math.floor(Math.log10(v)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * power >= v) return step * power;
    }
    return 10 * power;
  }

  function frame(title) {
    const root = svg('svg', {
      viewBox: '0 0 ' + W + ' ' + H,
      class: 'chart-svg',
      role: 'img',
      preserveAspectRatio: 'none',
    });
    root.append(svg('title', null, title));
    return root;
  }

  function axes(root, max, unit) {
    const plotH = H - PAD.top - PAD.bottom;
    for (let i = 0; i <= 4; i += 1) {
      const y = PAD.top + plotH - (plotH * i) / 4;
      root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: 'grid' }));
      root.append(svg('text', { x: PAD.left - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, short((max * i) / 4, unit)));
    }
  }

  function hiddenTable(caption, head, rows) {
    const table = document.createElement('table');
    table.className = 'visually-hidden';
    const cap = document.createElement('caption');
    cap.textContent = caption;
    table.append(cap);
    const tr = document.createElement('tr');
    for (const h of head) {
      const th = document.createElement('th');
      th.textContent = h;
      tr.append(th);
    }
    table.append(tr);
    for (const row of rows.slice(-50)) {
      const r = document.createElement('tr');
      for (const cell of row) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        r.append(td);
      }
      table.append(r);
    }
    return table;
  }

  function figure(title, root, legend, table) {
    const fig = document.createElement('figure');
    fig.className = 'chart';
    const cap = document.createElement('figcaption');
    cap.textContent = title;
    fig.append(cap, root);
    if (legend) fig.append(legend);
    fig.append(table);
    return fig;
  }

  // `utc`: the figures are by UTC hour (hs-logd's day files), so label them so.
  function timeLabel(t, long, utc) {
    const d = new Date(num(t) * 1000);
    if (isNaN(d.getTime())) return '';
    const zone = utc ? { timeZone: 'UTC' } : {};
    return long
      ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', ...zone })
      : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', ...zone });
  }

  function line(spec) {
    const series = (spec.series || []).map((s) => ({
      label: String(s.label),
      points: (s.points || []).map((p) => [num(p[0]), num(p[1])]).sort((a, b) => a[0] - b[0]),
    }));
    const all = series.flatMap((s) => s.points);
    const root = frame(spec.title);
    if (!all.length) {
      root.append(svg('text', { x: W / 2, y: H / 2, class: 'tick', 'text-anchor': 'middle' }, 'No samples yet'));
      return figure(spec.title, root, null, hiddenTable(spec.title, ['time'], []));
    }
    const t0 = Math.min(...all.map((p) => p[0]));
    const t1 = Math.max(...all.map((p) => p[0]));
    const max = spec.max ? num(spec.max) : niceMax(Math.max(...all.map((p) => p[1])));
    axes(root, max, spec.unit);
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const x = (t) => PAD.left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * plotW : plotW / 2);
    const y = (v) => PAD.top + plotH - (Math.min(Math.max(v, 0), max) / max) * plotH;
    const long = t1 - t0 > 2 * 86400;
    for (const [i, t] of [t0, (t0 + t1) / 2, t1].entries()) {
      const anchor = ['start', 'middle', 'end'][i];
      root.append(svg('text', { x: x(t), y: H - 8, class: 'tick', 'text-anchor': anchor }, timeLabel(t, long, spec.utc)));
    }
    const legend = document.createElement('ul');
    legend.className = 'legend';
    series.forEach((s, i) => {
      const cls = 's' + (i % 4);
      const d = s.points.map((p, j) => (j ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
      if (s.points.length === 1) {
        root.append(svg('circle', { cx: x(s.points[0][0]), cy: y(s.points[0][1]), r: 3, class: 'dot ' + cls }));
      } else {
        root.append(svg('path', { d, class: 'series ' + cls }));
      }
      const item = document.createElement('li');
      const key = document.createElement('span');
      key.className = 'key ' + cls;
      item.append(key, document.createTextNode(s.label));
      legend.append(item);
    });
    const head = ['time'].concat(series.map((s) => s.label));
    const times = [...new Set(all.map((p) => p[0]))].sort((a, b) => a - b);
    const rows = times.map((t) => [timeLabel(t, long, spec.utc)].concat(series.map((s) => {
      const p = s.points.find((q) => q[0] === t);
      return p ? short(p[1], spec.unit) : '';
    })));
    return figure(spec.title, root, legend, hiddenTable(spec.title, head, rows));
  }

  function bars(spec) {
    const list = (spec.bars || []).map((b) => ({ label: String(b.label), value: num(b.value) }));
    const root = frame(spec.title);
    const max = niceMax(Math.max(1, ...list.map((b) => b.value)));
    axes(root, max, spec.unit);
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const slot = list.length ? plotW / list.length : plotW;
    const every = Math.max(1, Math.ceil(list.length / 8));
    list.forEach((b, i) => {
      const h = (b.value / max) * plotH;
      const x = PAD.left + i * slot + slot * 0.15;
      const rect = svg('rect', { x: x.toFixed(1), y: (PAD.top + plotH - h).toFixed(1), width: (slot * 0.7).toFixed(1), height: h.toFixed(1), class: 'bar' });
      rect.append(svg('title', null, b.label + ': ' + short(b.value, spec.unit)));
      root.append(rect);
      if (i % every === 0) {
        root.append(svg('text', { x: (x + slot * 0.35).toFixed(1), y: H - 8, class: 'tick', 'text-anchor': 'middle' }, b.label));
      }
    });
    const rows = list.map((b) => [b.label, short(b.value, spec.unit)]);
    return figure(spec.title, root, null, hiddenTable(spec.title, ['', spec.unit || 'value'], rows));
  }

  window.HSChart = Object.freeze({ line, bars, short });
})();
