// Small charts drawn by hand: horizontal bars in inline SVG, each with a text equivalent.

import { h, svg, uid } from './dom.js';

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

/** A row of proportional CSS bars (e.g. orders per status), each a link when href is given. */
export function stackedBar({ title, items, testid }) {
  const total = items.reduce((sum, i) => sum + (Number(i.value) || 0), 0) || 1;
  return h('figure', { class: 'stacked', 'data-testid': testid },
    h('figcaption', {}, title),
    h('div', { class: 'stacked-bar', 'aria-hidden': 'true' }, items.filter((i) => i.value > 0).map((i) => h('span', {
      class: `stacked-part ${i.tone || ''}`, title: `${i.label}: ${i.value}`,
      style: { flexGrow: String(i.value), flexBasis: `${(i.value / total) * 100}%` },
    }))));
}
