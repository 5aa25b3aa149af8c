// The order page's words: every visible string comes from i18n/<locale>.json (same keys in each). The
// locale is the order's when the view names one, else the visitor's choice, else the browser's, else en.
// Dates and money are formatted with Intl in that locale.

export const LOCALES = ['en', 'vi'];
const CHOSEN_KEY = 'waybill.track.locale';
const catalogues = new Map();
let current = 'en';
let words = {};

/** The first supported locale among the order's, the visitor's choice and the browser's. */
export function pickLocale(orderLocale) {
  const wanted = [orderLocale, localStorage.getItem(CHOSEN_KEY), ...(navigator.languages || [navigator.language])];
  for (const tag of wanted) {
    const base = String(tag || '').toLowerCase().split('-')[0];
    if (LOCALES.includes(base)) return base;
  }
  return 'en';
}

export function choose(locale) {
  localStorage.setItem(CHOSEN_KEY, locale);
}

async function catalogue(locale) {
  if (!catalogues.has(locale)) {
    const url = new URL(`../i18n/${locale}.json`, import.meta.url);
    catalogues.set(locale, fetch(url, { cache: 'no-cache' }).then((r) => {
      if (!r.ok) throw new Error(`i18n/${locale}.json: HTTP ${r.status}`);
      return r.json();
    }));
  }
  return catalogues.get(locale);
}

/** Load `locale`'s catalogue (English fills any key a catalogue lacks). */
export async function use(locale) {
  const [base, chosen] = await Promise.all([catalogue('en'), catalogue(locale)]);
  words = { ...base, ...chosen };
  current = locale;
  document.documentElement.lang = locale;
}

export const locale = () => current;

/** The catalogue's text for `key`, `{name}` filled from `vars`; an unknown key shows as itself. */
export function t(key, vars = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** The text for `prefix.code` when the catalogue has it, else `fallback`'s. */
export function tCode(prefix, code, fallback) {
  const key = `${prefix}.${code}`;
  return key in words ? words[key] : (fallback ? t(fallback) : code);
}

export function money(cents, currency) {
  if (cents === null || cents === undefined) return '—';
  const format = new Intl.NumberFormat(current, { style: 'currency', currency: currency || 'EUR' });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(Number(cents) / 10 ** digits);
}

export function date(iso, { withTime = true } = {}) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  const options = withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' };
  return new Intl.DateTimeFormat(current, options).format(d);
}
