// Small charts drawn by hand in inline SVG or CSS, each with a legend and a text equivalent: a
// picture with role="img" and a label saying what it shows, and the figures as a table (or a list)
// screen readers read. Colours are FIXED per status or counter (COLOURS): a status keeps its colour
// whatever the other counts are, so a legend learnt once stays true.

import { h, svg, uid } from './dom.js';
import { number } from './format.js';

/**
 * A horizontal bar chart. items: [{label, value, text, href?}] (value >= 0 or null); max: the
 * value of a full bar (default: the largest value). The SVG is a picture with a title; the same
 * figures are in a visually hidden list for screen readers (and in the charts' tables elsewhere).
 */
export function barChart({ title, items, max, testid, unit = '' }) {
  const rows = items.length || 1;
  const rowHeight = 28;
  const labelWidth = 150;
  const width = 520;
  const barArea = width - labelWidth - 90;
  const top = Math.max(max ?? 0, ...items.map((i) => Number(i.value) || 0)) || 1;
  const titleId = uid('chart');
  const picture = svg('svg', {
    viewBox: `0 0 ${width} ${rows * rowHeight + 4}`, role: 'img', 'aria-labelledby': titleId,
    class: 'chart', preserveAspectRatio: 'xMinYMin meet',
  },
  svg('title', { id: titleId }, title),
  items.map((item, i) => {
    const y = i * rowHeight + 2;
    const value = Number(item.value);
    const known = item.value !== null && item.value !== undefined && !Number.isNaN(value);
    const w = known ? Math.max(2, (value / top) * barArea) : 0;
    return svg('g', { class: 'chart-row' },
      svg('text', { x: labelWidth - 8, y: y + 18, 'text-anchor': 'end', class: 'chart-label' }, item.label),
      svg('rect', { x: labelWidth, y: y + 5, width: barArea, height: 16, rx: 3, class: 'chart-track' }),
      known ? svg('rect', { x: labelWidth, y: y + 5, width: w, height: 16, rx: 3, class: `chart-bar ${item.tone || ''}` }) : null,
      svg('text', { x: labelWidth + barArea + 8, y: y + 18, class: 'chart-value' }, known ? (item.text ?? `${value}${unit}`) : 'no data'));
  }));
  return h('figure', { class: 'chart-figure', 'data-testid': testid },
    h('figcaption', {}, title),
    picture,
    h('ul', { class: 'visually-hidden' }, items.map((i) => h('li', {}, `${i.label}: ${i.text ?? i.value ?? 'no data'}`))));
}

/**
 * The colour of each order status and each trend counter, by name, never by position. Dark enough
 * to stand out on white (3:1 at least, as graphics need).
 */
export const COLOURS = {
  on_hold: '#b45309',
  awaiting_payment: '#a16207',
  placed: '#1d4ed8',
  rejected: '#991b1b',
  cancelled: '#4b5563',
  ordered: '#0e7490',
  partially_dispatched: '#7c3aed',
  dispatched: '#5b21b6',
  partially_delivered: '#0f766e',
  delivered: '#15803d',
  completed: '#166534',
  partially_returned: '#be185d',
  returned: '#9d174d',
  not_supplied: '#dc2626',
  opened: '#b91c1c',
  resolved: '#15803d',
  on_time: '#15803d',
  late: '#c2410c',
};
const FALLBACK = '#475569';

/** The fixed colour of a status or counter. */
export function colourOf(key) {
  return COLOURS[key] || FALLBACK;
}

/** A legend: a swatch, the name and (when given) the figure of each item; an item may be a link. */
export function legend(items, { label: name, testid } = {}) {
  return h('ul', { class: 'chart-legend', 'aria-label': name, 'data-testid': testid },
    items.map((i) => {
      const text = [i.label, i.text !== undefined ? `: ${i.text}` : ''];
      return h('li', { 'data-key': i.key, 'data-colour': colourOf(i.key) },
        h('span', { class: 'swatch', 'aria-hidden': 'true', style: { backgroundColor: colourOf(i.key) } }),
        i.href ? h('a', { href: i.href }, text) : text);
    }));
}

/**
 * A row of proportional bars (e.g. orders per status), each part in its status's colour, with a
 * legend of every status shown and a label that reads the figures out. items: [{key, label, value, href?}].
 */
export function stackedBar({ title, items, testid }) {
  const shown = items.filter((i) => Number(i.value) > 0);
  const total = shown.reduce((sum, i) => sum + Number(i.value), 0) || 1;
  const spoken = shown.length ? shown.map((i) => `${i.label} ${number(i.value)}`).join(', ') : 'none';
  return h('figure', { class: 'stacked', 'data-testid': testid },
    h('figcaption', {}, title),
    h('div', { class: 'stacked-bar', role: 'img', 'aria-label': `${title}: ${spoken}` }, shown.map((i) => h('span', {
      class: 'stacked-part', title: `${i.label}: ${i.value}`, 'data-key': i.key,
      style: { flexGrow: String(i.value), flexBasis: `${(i.value / total) * 100}%`, backgroundColor: colourOf(i.key) },
    }))),
    legend(shown.map((i) => ({ ...i, text: number(i.value) })), { label: `Legend: ${title}`, testid: testid ? `${testid}-legend` : null }));
}

/**
 * Columns over periods (days or weeks), one per series side by side in each period, in the series'
 * fixed colours, with a legend and "Show as table" (the same figures, for screen readers and for
 * reading exact values). periods: [{key, label}]; series: [{key, label, values: [n|null]}];
 * format(n) the value's text; max the top of the scale (default: the largest value).
 */
export function columnChart({ title, periods, series, testid, format = number, max, summary, extraColumns = [] }) {
  const width = 640;
  const height = 180;
  const left = 36;
  const bottom = 22;
  const plot = height - bottom - 8;
  const values = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const top = Math.max(max ?? 0, ...values) || 1;
  const slot = (width - left) / Math.max(periods.length, 1);
  const barWidth = Math.max(2, Math.min(18, (slot - 2) / series.length));
  const every = Math.ceil(periods.length / 8); // at most ~8 period labels under the axis
  const picture = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, class: 'chart trend-chart', role: 'img',
    'aria-label': `${title}. ${summary || ''}`.trim(), preserveAspectRatio: 'xMinYMin meet',
  },
  svg('line', { x1: left, y1: 8 + plot, x2: width, y2: 8 + plot, stroke: '#94a3b8' }),
  svg('text', { x: left - 4, y: 14, 'text-anchor': 'end', class: 'chart-value' }, format(top)),
  svg('text', { x: left - 4, y: 8 + plot, 'text-anchor': 'end', class: 'chart-value' }, format(0)),
  periods.map((p, i) => {
    const x0 = left + i * slot + (slot - barWidth * series.length) / 2;
    return svg('g', { class: 'chart-period' },
      series.map((s, j) => {
        const v = s.values[i];
        if (v === null || v === undefined || v <= 0) return null;
        const hgt = Math.max(1, (v / top) * plot);
        return svg('rect', {
          x: x0 + j * barWidth, y: 8 + plot - hgt, width: Math.max(1, barWidth - 1), height: hgt,
          fill: colourOf(s.key), 'data-key': s.key,
        }, svg('title', {}, `${p.label}, ${s.label}: ${format(v)}`));
      }),
      i % every === 0 ? svg('text', { x: left + i * slot + slot / 2, y: height - 6, 'text-anchor': 'middle', class: 'chart-axis' }, p.short || p.label) : null);
  }));
  return h('figure', { class: 'chart-figure', 'data-testid': testid },
    h('figcaption', {}, title),
    picture,
    legend(series.map((s) => ({ key: s.key, label: s.label })), { label: `Legend: ${title}`, testid: testid ? `${testid}-legend` : null }),
    h('details', { class: 'chart-table' },
      h('summary', {}, 'Show as table'),
      h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': title },
        h('table', { 'data-testid': testid ? `${testid}-table` : null },
          h('caption', {}, title),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Period'),
            series.map((s) => h('th', { scope: 'col', class: 'num' }, s.label)),
            extraColumns.map((c) => h('th', { scope: 'col', class: 'num' }, c.label)))),
          h('tbody', {}, periods.map((p, i) => h('tr', {},
            h('th', { scope: 'row' }, p.label),
            series.map((s) => h('td', { class: 'num' }, s.values[i] === null || s.values[i] === undefined ? '—' : format(s.values[i]))),
            extraColumns.map((c) => h('td', { class: 'num' }, c.values[i])))))))));
}
