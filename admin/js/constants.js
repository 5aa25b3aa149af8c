// The vocabularies the API's request models accept (see chalicelib/domain and chalicelib/api/schemas.py).
// Used for filter choices only; what may be done to a record always comes from the API
// (allowed_actions, GET /me capabilities).

export const ORDER_STATUSES = ['on_hold', 'awaiting_payment', 'placed', 'rejected', 'cancelled', 'ordered', 'partially_dispatched',
  'dispatched', 'partially_delivered', 'delivered', 'completed', 'partially_returned', 'returned',
  'not_supplied'];

export const CAMPAIGN_STATUSES = ['draft', 'live', 'ended', 'closed', 'cancelled'];

export const PO_STAGES = ['acknowledge', 'invoice', 'payment_proposal', 'payment_approval', 'bank_payment',
  'settlement', 'shipment'];
export const PO_STATUSES = ['open', 'rejected', 'cancelled', 'shipped'];

// Most severe first: the order "Sort by: Severity" uses (domain/exceptions.py SEVERITY_RANK).
export const SEVERITIES = ['critical', 'high', 'medium', 'low'];
export const SEVERITY_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));

export const EXCEPTION_KINDS = {
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
// What the queue lists (ExceptionListQuery.status); the API's default is open and acknowledged.
export const QUEUE_STATUSES = ['open', 'acknowledged', 'snoozed'];

export const PROPOSAL_STATUSES = ['pending', 'approved', 'rejected', 'pushed', 'settled', 'failed'];

export const DELIVERY_STATUSES = ['sending', 'pending', 'succeeded', 'failed', 'abandoned'];

export const EVENT_TYPES = [
  'order.placed', 'order.approved', 'order.rejected', 'order.cancelled', 'order.lines_rejected',
  'order.shipped', 'order.out_for_delivery', 'order.delivered', 'order.delivery_attempted',
  'order.delivery_returned', 'order.delayed', 'order.tracking_corrected',
  'order.payment_captured', 'order.payment_failed',
  'order.lines_cancelled', 'order.address_corrected',
  'po.created', 'po.cancelled', 'po.stage_overdue', 'po.shipment_added',
  ...PO_STAGES.map((s) => `po.${s}_completed`),
  'shipment.recorded', 'shipment.corrected', 'shipment.status_changed', 'shipment.tracking_stale',
  'campaign.went_live', 'campaign.ended', 'campaign.closed', 'campaign.cancelled',
  'order.partially_returned', 'order.returned',
  'complaint.opened', 'complaint.supplier_asked', 'complaint.plan_offered', 'complaint.plan_accepted',
  'complaint.plan_disputed', 'complaint.replacement_requested', 'complaint.refund_issued',
  'complaint.return_received', 'complaint.resolved', 'complaint.withdrawn',
];

export const COMPLAINT_STATUSES = ['open', 'awaiting_supplier', 'supplier_answered', 'plan_proposed', 'needs_approval',
  'plan_approved', 'accepted', 'disputed', 'in_progress', 'resolved', 'withdrawn'];
// What the complaints queue shows by default: the complaints waiting for customer care (or an admin).
export const COMPLAINT_CARE_STATUSES = ['open', 'supplier_answered', 'disputed', 'needs_approval', 'plan_proposed'];
export const COMPLAINT_REASONS = ['damaged', 'wrong_item', 'missing_item', 'not_as_described', 'lost_in_transit'];
export const RESOLUTIONS = ['refund', 'replacement', 'return_for_refund'];

export const SHIPMENT_STATUSES = ['dispatched', 'label_created', 'in_transit', 'out_for_delivery', 'attempted',
  'delivered', 'exception', 'returned_to_sender', 'superseded'];

export const EXPORT_KINDS = ['orders', 'purchase_orders', 'payments', 'shipments'];
export const EXPORT_STATES = {
  orders: ORDER_STATUSES,
  purchase_orders: PO_STATUSES,
  payments: PROPOSAL_STATUSES,
  shipments: SHIPMENT_STATUSES,
};
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
