// What the front office's screens share beyond the admin page's modules: cards (phones get cards,
// not sideways tables), presigned uploads, the enums the API's schemas carry, addresses.

import * as api from '../../admin/js/api.js';
import { h } from '../../admin/js/dom.js';

/** A list of cards: items -> <li class="card">; an empty list says `empty`. */
export function cards(items, render, { testid, empty = 'Nothing to show.', label } = {}) {
  if (!items.length) return h('p', { class: 'empty', 'data-testid': testid ? `${testid}-empty` : null }, empty);
  return h('ul', { class: 'cards', 'data-testid': testid, 'aria-label': label || null },
    items.map((item) => { const node = render(item); return node.tagName === 'LI' ? node : h('li', { class: 'card' }, node); }));
}

/**
 * Send a file to a presigned S3 POST ({url, fields}) from POST .../upload routes. The browser posts
 * straight to S3: the file never passes through the API.
 */
export async function uploadTo(presigned, file) {
  const form = new FormData();
  for (const [key, value] of Object.entries(presigned.fields || {})) form.append(key, value);
  form.append('file', file);
  let response;
  try {
    response = await fetch(presigned.url, { method: 'POST', body: form, credentials: 'omit' });
  } catch (err) {
    throw new api.ApiError({ status: 0, code: 'upload_failed', message: `The file could not be sent to storage: ${err.message}` });
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw new api.ApiError({ status: response.status, code: 'upload_failed',
      message: `Storage refused the file (HTTP ${response.status})${text ? `: ${text.slice(0, 200)}` : ''}` });
  }
}

/**
 * True when the API has no such route: the API's own 404; a 405 (the path is another route's, e.g.
 * `.../shipments/import` read as `.../shipments/{shipment_id}`, which takes PUT only); or the
 * gateway's 403 for a path it has no route for (API Gateway and chalice local answer
 * {"message": "Missing Authentication Token"}, which is no error code of ours). Routes added after
 * this page answer so on an older API.
 */
export function noSuchRoute(error) {
  return Boolean(error) && ([404, 405].includes(error.status) || (error.status === 403 && error.code === 'http_403'));
}

// The OpenAPI document, once per page load: the choices (carriers, reasons, file types) are its enums.
let spec = null;

export async function apiSpec(signal) {
  if (!spec) {
    spec = api.get('/openapi.json', undefined, { signal }).catch((error) => { spec = null; throw error; });
  }
  return spec;
}

function enumIn(doc, schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 8) return [];
  if (Array.isArray(schema.enum)) return schema.enum;
  if (schema.const !== undefined) return [schema.const];
  if (schema.$ref) return enumIn(doc, doc.components?.schemas?.[schema.$ref.split('/').pop()], depth + 1);
  for (const part of [...(schema.anyOf || []), ...(schema.oneOf || []), schema.items]) {
    const found = enumIn(doc, part, depth + 1);
    if (found.length) return found;
  }
  return [];
}

/** The values a request model's property takes, e.g. enumOf(doc, 'ShipmentIn', 'carrier'). */
export function enumOf(doc, model, property) {
  return enumIn(doc, doc?.components?.schemas?.[model]?.properties?.[property]);
}

/** A postal address as the carrier label shows it. */
export function address(a) {
  if (!a) return h('p', { class: 'muted' }, 'Address no longer shown (the delivery is closed).');
  return h('address', { class: 'address', 'data-testid': 'ship-to' },
    [a.name, ...(a.lines || []), `${a.postal_code || ''} ${a.city || ''}`.trim(), a.country, a.phone].filter(Boolean).join('\n'));
}

/** Bytes in words: "12 KB". */
export function size(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
