// Money, dates, durations and labels, in the user's locale (Intl).

import { h } from './dom.js';

const moneyFormats = new Map();
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });
const numberFormat = new Intl.NumberFormat();

function moneyFormat(currency) {
  const code = currency || 'EUR';
  if (!moneyFormats.has(code)) {
    try {
      moneyFormats.set(code, new Intl.NumberFormat(undefined, { style: 'currency', currency: code }));
    } catch {
      moneyFormats.set(code, new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR' }));
    }
  }
  return moneyFormats.get(code);
}

/** Digits after the decimal point in this currency (2 for EUR, 0 for JPY). */
export function minorDigits(currency) {
  return moneyFormat(currency).resolvedOptions().maximumFractionDigits;
}

/** Amounts are integers in the currency's minor unit ("cents"). */
export function money(cents, currency) {
  if (cents === null || cents === undefined) return '—';
  return moneyFormat(currency).format(Number(cents) / 10 ** minorDigits(currency));
}

/** A decimal amount typed by a person ("12.50") in minor units, or NaN. */
export function toMinor(text, currency) {
  const value = String(text ?? '').trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(value)) return NaN;
  return Math.round(Number(value) * 10 ** minorDigits(currency));
}

export function number(n) {
  return n === null || n === undefined ? '—' : numberFormat.format(n);
}

export function percent(rate) {
  return rate === null || rate === undefined ? '—' : percentFormat.format(rate);
}

/** A <time> in the user's locale, with the ISO instant as its datetime and title. */
export function when(iso, { dateOnly = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('span', {}, String(iso));
  const text = (dateOnly ? dateFormat : dateTimeFormat).format(date);
  return h('time', { datetime: iso, title: iso }, text);
}

/** "3 d 4 h", "45 min", "20 s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '—';
  let s = Math.round(Number(seconds));
  const sign = s < 0 ? '-' : '';
  s = Math.abs(s);
  const d = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${sign}${d} d${hours ? ` ${hours} h` : ''}`;
  if (hours) return `${sign}${hours} h${m ? ` ${m} min` : ''}`;
  if (m) return `${sign}${m} min`;
  return `${sign}${s} s`;
}

/** "partially_dispatched" -> "Partially dispatched". */
export function label(value) {
  if (value === null || value === undefined || value === '') return '—';
  const text = String(value).split(/[_.]+/).map((w) => (w === 'po' ? 'PO' : w)).join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A date input's value (YYYY-MM-DD, the user's day) as an ISO instant at the start or end of that day. */
export function dayBound(value, end = false) {
  if (!value) return undefined;
  const [y, m, d] = value.split('-').map(Number);
  if (!y || !m || !d) return undefined;
  const date = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return date.toISOString();
}

/** A datetime-local input's value as an ISO instant. */
export function localInstant(value) {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
