// The vocabularies the API's request models accept, for filter choices. None is written here: they
// are filled once at start (loadVocabularies) from the API itself, the enums of /openapi.json and,
// for the few words no request schema enumerates, GET /me's `vocabularies`. What may be done to a
// record always comes from the API too (allowed_actions, GET /me capabilities).

export const ORDER_STATUSES = [];
export const CAMPAIGN_STATUSES = [];
export const PO_STAGES = [];
export const PO_STATUSES = [];
// Most severe first, as the API lists them: the order "Sort by: Severity" uses.
export const SEVERITIES = [];
export const SEVERITY_RANK = {};
// kind -> its title: the kinds from the API, the titles are how this page words them.
export const EXCEPTION_KINDS = {};
// What the queue lists (ExceptionListQuery.status); the API's default is open and acknowledged.
export const QUEUE_STATUSES = [];
export const PROPOSAL_STATUSES = [];
export const DELIVERY_STATUSES = [];
export const EVENT_TYPES = [];
export const COMPLAINT_STATUSES = [];
export const COMPLAINT_REASONS = [];
export const RESOLUTIONS = [];
export const SHIPMENT_STATUSES = [];
export const EXPORT_KINDS = [];
export const PAYMENT_RECORD_KINDS = [];
export const EXPORT_STATES = {
  orders: ORDER_STATUSES,
  purchase_orders: PO_STATUSES,
  payments: PROPOSAL_STATUSES,
  shipments: SHIPMENT_STATUSES,
};
// What the complaints queue shows by default: the complaints waiting for customer care (or an admin).
export const COMPLAINT_CARE_STATUSES = ['open', 'supplier_answered', 'disputed', 'needs_approval', 'plan_proposed'];

const EXCEPTION_TITLES = {
  supplier_rejected: 'Supplier rejected a purchase order',
  out_of_stock: 'Supplier cannot deliver some lines',
  po_not_acknowledged: 'Purchase order not acknowledged in time',
  invoice_missing: 'Invoice not uploaded in time',
  payment_approval_pending: 'Payment proposal waiting for approval',
  payment_failed: 'Payment failed',
  stage_overdue: 'Supplier stage overdue',
  shipment_late: 'Parcel not delivered by its expected date',
  tracking_stale: 'No tracking update from the carrier',
  delivery_exception: 'Carrier reported a delivery problem',
  unknown_tracking: 'Carrier events for a parcel nobody recorded',
  webhook_delivery_failing: 'Outbound webhooks failing for a subscriber',
  inbound_webhook_failed: 'An inbound webhook could not be applied',
  complaint_open: 'Customer complaint waiting for customer care',
  refund_failed: 'A refund to a customer failed',
  payment_overdue: 'An offline payment has not arrived',
  manual_refund_due: 'Money to pay back to a customer by transfer',
  order_on_hold: 'Order waiting for pre-approval',
  campaign_close_waiting: 'Campaign close waiting for held orders',
  cancellation_requested: 'Customer asks to cancel after the close',
};

/** The first `enum` in a schema, through $ref, anyOf/oneOf and array items; [] when there is none. */
function enumIn(spec, schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 8) return [];
  if (Array.isArray(schema.enum)) return schema.enum;
  if (schema.$ref) return enumIn(spec, spec.components?.schemas?.[schema.$ref.split('/').pop()], depth + 1);
  for (const part of [...(schema.anyOf || []), ...(schema.oneOf || []), schema.items]) {
    const found = enumIn(spec, part, depth + 1);
    if (found.length) return found;
  }
  return [];
}

const component = (name, property) => (spec) => {
  const schema = spec.components?.schemas?.[name];
  return enumIn(spec, property ? schema?.properties?.[property] : schema);
};
const parameter = (path, name) => (spec) =>
  enumIn(spec, (spec.paths?.[path]?.get?.parameters || []).find((p) => p.name === name)?.schema);

// Where each list is in the OpenAPI document.
const FROM_SPEC = [
  [ORDER_STATUSES, component('OrderStatus')],
  [CAMPAIGN_STATUSES, component('CampaignStatus')],
  [PO_STAGES, parameter('/supplier/purchase-orders', 'stage')],
  [PO_STATUSES, parameter('/supplier/purchase-orders', 'status')],
  [SEVERITIES, parameter('/staff/exceptions', 'severity')],
  [QUEUE_STATUSES, parameter('/staff/exceptions', 'status')],
  [PROPOSAL_STATUSES, parameter('/staff/payment-proposals', 'status')],
  [DELIVERY_STATUSES, parameter('/staff/webhook-deliveries', 'status')],
  [COMPLAINT_REASONS, component('OpenComplaintRequest', 'reason')],
  [RESOLUTIONS, component('PlanLineIn', 'resolution')],
  [EXPORT_KINDS, component('ExportRequest', 'kind')],
  [PAYMENT_RECORD_KINDS, component('PaymentRecordRequest', 'kind')],
];
// And the words GET /me gives staff (`vocabularies`).
const FROM_ME = [
  [EVENT_TYPES, 'webhook_event_types'],
  [COMPLAINT_STATUSES, 'complaint_statuses'],
  [SHIPMENT_STATUSES, 'shipment_statuses'],
];

const fill = (list, values) => list.splice(0, list.length, ...(values || []));

/** Fill the lists in place (screens import them) from the OpenAPI document and GET /me's answer. */
export function loadVocabularies(spec, me) {
  for (const [list, find] of FROM_SPEC) fill(list, find(spec));
  for (const [list, name] of FROM_ME) fill(list, me?.vocabularies?.[name]);
  for (const key of Object.keys(SEVERITY_RANK)) delete SEVERITY_RANK[key];
  SEVERITIES.forEach((s, i) => { SEVERITY_RANK[s] = i; });
  for (const key of Object.keys(EXCEPTION_KINDS)) delete EXCEPTION_KINDS[key];
  for (const kind of parameter('/staff/exceptions', 'kind')(spec)) EXCEPTION_KINDS[kind] = EXCEPTION_TITLES[kind] || kind.replace(/_/g, ' ');
}

// Audited exporters (domain/exports.py EXPORTERS): each record once per exporter.
export const EXPORTERS = {
  orders: [['orders_paid', 'Orders that stand (placed and later)'],
    ['orders_delivered', 'Delivered orders (after orders_paid)'],
    ['orders_cancelled', 'Cancelled or refused orders']],
  purchase_orders: [['purchase_orders_shipped', 'Shipped purchase orders'],
    ['purchase_orders_cancelled', 'Cancelled or rejected purchase orders']],
  payments: [['payments_approved', 'Approved supplier payments'],
    ['payments_settled', 'Settled supplier payments (after payments_approved)']],
  shipments: [['shipments_dispatched', 'Parcels on their way'],
    ['shipments_delivered', 'Delivered parcels (after shipments_dispatched)'],
    ['shipments_returned', 'Parcels returned to the sender (after shipments_dispatched)']],
};

/** Where an exception's or event's subject lives in the console. */
export function subjectHref(type, id) {
  if (!id) return null;
  const enc = encodeURIComponent(id);
  switch (type) {
    case 'order': return `#/orders/${enc}`;
    // A cancellation request's id is `<order id>.crq<n>`: it is decided from its order's page.
    case 'cancellation_request': return `#/orders/${encodeURIComponent(id.split('.')[0])}`;
    case 'po': case 'purchase_order': return `#/purchase-orders/${enc}`;
    case 'campaign': return `#/campaigns/${enc}`;
    case 'complaint': return `#/complaints/${enc}`;
    case 'webhook_subscription': case 'subscription': return `#/webhooks/deliveries?subscription_id=${enc}`;
    default: return null;
  }
}
