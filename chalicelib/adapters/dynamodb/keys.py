"""Every key of the single table is spelled here and nowhere else.

Access patterns (pattern -> key / index -> operation):

| pattern | key or index | operation |
|---|---|---|
| supplier by id | `SUPPLIER#<id>` / `#META` | GetItem |
| all suppliers | GSI1 `SUPPLIERS` / `<name>#<id>` | Query |
| campaign with its products | `CAMPAIGN#<id>` / begins_with `#` (`#META`, `#PRODUCT#<sku>`) | Query on PK |
| campaigns by status (and the end-campaigns sweep: ends_at <= now) | GSI1 `CAMPAIGNS#<status>` / `<ends_at or created>#<id>` | Query |
| place order: campaign, its requested products, the customer profile | table keys | BatchGetItem |
| order with its audit trail (customer timeline, staff detail) | `ORDER#<id>` / (`#META`, `DELIVERY#`, `EVENT#`) | Query on PK |
| a customer's orders | GSI1 `CUSTOMER#<id>#ORDERS` / `<created>#<order>` | Query |
| a campaign's orders | GSI2 `CAMPAIGN#<id>#ORDERS#<n>` / `<created>#<order>` | one Query per shard, in parallel, merged |
| orders in a status | GSI3 `ORDERS#<status>#<n>` / `<created>#<order>` | one Query per shard, in parallel, merged |
| all orders by date | GSI4 `ORDERS#<n>` / `<created>#<order>` | one Query per shard, in parallel, merged |
| an order's payment history | `ORDER#<id>` / `PAYMENT#<id>` | part of the order's Query |
| an order's cancellation requests (after the close) | `ORDER#<id>` / `CANCELREQ#<request id>` | part of the order's Query |
| one cancellation request by id (the id names its order: `<order id>.crq<n>`) | `ORDER#<id>` / `CANCELREQ#<request id>` | GetItem / BatchGetItem |
| a PO's cancellation requests waiting for a decision (the supplier's list) | sparse GSI1 `PO#<po id>#CANCELREQS` / `<requested>#<request id>` on the request while requested | Query |
| a supplier's deliveries (staff search by supplier) | GSI1 `SUPPLIER#<id>#DELIVERIES#<n>` / `<created>#<order>` | one Query per shard, in parallel, merged |
| orders by customer e-mail (staff search) | sparse GSI2 `EMAIL#<lower email>#ORDERS` / `<created>#<order>` on the order's first delivery index item | Query |
| customer profile (flagged) | `CUSTOMER#<id>` / `#PROFILE` | GetItem / BatchGetItem |
| a customer's address book: its header (default, version) and every entry | `CUSTOMER#<id>` / begins_with `ADDRESS` (`ADDRESSBOOK`, `ADDRESS#<address id>`) | Query on PK |
| one saved address (place order by `address_id`) | `CUSTOMER#<id>` / `ADDRESS#<address id>` | part of the place-order BatchGetItem |
| a PO's packing list: each order with an accepted (or later) delivery on it, oldest first | sparse GSI3 `PO#<po id>#PACKING` / `<created>#<order>` on the (order, supplier) delivery index item | Query |
| idempotent request | `IDEMPOTENCY#<scope>#<key>` / `#META` | conditional Put in the transaction |
| consumer dedupe | `PROCESSED#<consumer>#<event id>` / `#META` | conditional Put (TTL) |
| the order page's lookup attempts of one client address or reference in one window | `ATTEMPTS#<scope>` / `WINDOW#<n>` | UpdateItem ADD (TTL) |
| staff's search box: terms by prefix (order reference, customer e-mail and name, tracking number, supplier and campaign id and name) | sparse GSI1 `FIND#<first 3 chars of the term>` / begins_with `<term>#<kind>#<id>#<slot>` on find items `SEARCH#<kind>#<id>` / `TERM#<slot>` (written in the transaction that creates the thing) | Query (one or two per search) |
| ... a two-character query (suppliers and campaigns only) | sparse GSI2 `FIND2#<first 2 chars>` / the same | Query |
| a person's saved views of the list screens | `STAFF#<address>` / `VIEW#<screen>#<name>` | Query on PK (begins_with `VIEW#`) / GetItem |

`<n>`: a write shard of an index key that every order (or parcel) would otherwise write to
(`index_shard`, picked by the item's id): at 100 orders/s one key value would take all of them
on one index partition. Readers fan in: one Query per shard in one parallel step, merged by sort key
(`fan_in.query_shards`), the cursor holding each shard's position.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

META = "#META"
PROFILE = "#PROFILE"


def ts(at: datetime) -> str:
    """Sortable UTC timestamp used inside sort keys."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)  # an offset (e.g. +02:00 from the API) must not shift the key
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def supplier(supplier_id: str) -> tuple[str, str]:
    return f"SUPPLIER#{supplier_id}", META


def suppliers_index(name: str, supplier_id: str) -> tuple[str, str]:
    return "SUPPLIERS", f"{name.lower()}#{supplier_id}"


def campaign(campaign_id: str) -> tuple[str, str]:
    return f"CAMPAIGN#{campaign_id}", META


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def product(campaign_id: str, sku: str) -> tuple[str, str]:
    # "#PRODUCT#" sorts beside "#META" and before "EVENT#": begins_with("#") reads the
    # campaign and its products without its audit trail.
    return f"CAMPAIGN#{campaign_id}", f"#PRODUCT#{sku}"


CAMPAIGN_BODY_PREFIX = "#"


def campaigns_by_status(status: str, sort_at: datetime, campaign_id: str) -> tuple[str, str]:
    return f"CAMPAIGNS#{status}", f"{ts(sort_at)}#{campaign_id}"


def campaigns_status_pk(status: str) -> str:
    return f"CAMPAIGNS#{status}"


def order(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", META


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def delivery(order_id: str, supplier_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", f"DELIVERY#{supplier_id}"


def order_payment(order_id: str, payment_id: str) -> tuple[str, str]:
    """A payment (capture) of an order, kept in the order's partition: its payment history."""
    return f"ORDER#{order_id}", f"PAYMENT#{payment_id}"


CANCELLATION_REQUEST_PREFIX = "CANCELREQ#"
CANCELLATION_REQUEST_SEPARATOR = "."


def cancellation_request_id(order_id: str, number: int) -> str:
    """The `number`th cancellation request of an order. Numbered, not random: two requests sent at once
    name the same item, so one of them fails its conditional create instead of both passing the check
    that a delivery has no request waiting; and the id names its order, so deciding it is a GetItem."""
    return f"{order_id}{CANCELLATION_REQUEST_SEPARATOR}crq{number}"


def cancellation_request(request_id: str) -> tuple[str, str] | None:
    """The key of a cancellation request from its id; None for an id no request can have."""
    order_id, sep, rest = request_id.partition(CANCELLATION_REQUEST_SEPARATOR)
    if not (sep and order_id and rest.startswith("crq") and rest[3:].isdigit()):
        return None
    return order_pk(order_id), f"{CANCELLATION_REQUEST_PREFIX}{request_id}"


def po_cancellation_requests_pk(po_id: str) -> str:
    """A PO's cancellation requests waiting for a decision: sparse GSI1 on the request items."""
    return f"PO#{po_id}#CANCELREQS"


# Write shards of the index keys every order (or parcel) writes: all orders, orders in a status, a
# campaign's orders, a supplier's deliveries, all parcels. A deploy-time setting that may only GROW
# (readers fan in over range(INDEX_SHARDS): items under a higher shard than that would be missed).
INDEX_SHARDS = 8


def index_shard(item_id: str, shards: int = INDEX_SHARDS) -> int:
    """A stable shard per item, so that an index key's writes spread over `shards` partitions."""
    return int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % max(1, shards)


def _sharded(base: str, shard: int) -> str:
    return f"{base}#{shard}"


def _shards(base: str) -> list[str]:
    return [_sharded(base, n) for n in range(INDEX_SHARDS)]


def created_sk(created_at: datetime, order_id: str) -> str:
    return f"{ts(created_at)}#{order_id}"


def customer_orders_pk(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}#ORDERS"


def campaign_orders_pk(campaign_id: str, order_id: str) -> str:
    """The GSI2 key an order of the campaign is written under (its shard)."""
    return _sharded(f"CAMPAIGN#{campaign_id}#ORDERS", index_shard(order_id))


def campaign_orders_pks(campaign_id: str) -> list[str]:
    """Every shard of a campaign's orders: what a listing fans in over."""
    return _shards(f"CAMPAIGN#{campaign_id}#ORDERS")


def status_orders_pk(status: str, order_id: str) -> str:
    return _sharded(f"ORDERS#{status}", index_shard(order_id))


def status_orders_pks(status: str) -> list[str]:
    return _shards(f"ORDERS#{status}")


ALL_ORDERS_PREFIX = "ORDERS"


def all_orders_pk(order_id: str) -> str:
    return _sharded(ALL_ORDERS_PREFIX, index_shard(order_id))


def all_orders_pks() -> list[str]:
    return _shards(ALL_ORDERS_PREFIX)


def supplier_deliveries_pk(supplier_id: str, order_id: str) -> str:
    return _sharded(f"SUPPLIER#{supplier_id}#DELIVERIES", index_shard(order_id))


def supplier_deliveries_pks(supplier_id: str) -> list[str]:
    return _shards(f"SUPPLIER#{supplier_id}#DELIVERIES")


def customer_email_orders_pk(email: str) -> str:
    """Orders by the customer's e-mail (case-insensitive): sparse GSI2 on each order's first
    delivery index item, so the partition holds one entry per order."""
    return f"EMAIL#{email.strip().lower()}#ORDERS"


def customer(customer_id: str) -> tuple[str, str]:
    return f"CUSTOMER#{customer_id}", PROFILE


def customer_pk(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


# The book's header and its entries share a prefix, so one Query reads the whole book (and not
# the profile, whose SK starts with "#").
ADDRESS_BOOK_PREFIX = "ADDRESS"


def address_book(customer_id: str) -> tuple[str, str]:
    """The book's header: which entry is the default, and the version every change goes through."""
    return customer_pk(customer_id), f"{ADDRESS_BOOK_PREFIX}BOOK"


def customer_address(customer_id: str, address_id: str) -> tuple[str, str]:
    return customer_pk(customer_id), f"{ADDRESS_BOOK_PREFIX}#{address_id}"


def po_packing_pk(po_id: str) -> str:
    """A PO's packing list: the delivery index items of its supplier's accepted (or later) deliveries,
    in GSI3 (the delivery index item's GSI1 lists a supplier's deliveries, GSI2 the e-mail search).
    The PO id is deterministic (campaign, supplier), so the order's write can name it."""
    return f"PO#{po_id}#PACKING"


def event_sk(at: datetime, event_id: str) -> str:
    return f"EVENT#{ts(at)}#{event_id}"


EVENT_PREFIX = "EVENT#"


def idempotency(scope: str, key: str) -> tuple[str, str]:
    return f"IDEMPOTENCY#{scope}#{key}", META


def processed(consumer: str, event_id: str) -> tuple[str, str]:
    return f"PROCESSED#{consumer}#{event_id}", META


# ---------------------------------------------------------------- purchase orders
# | a PO with its invoices, proposals, shipments, events | `PO#<id>` / (`#META`, `INVOICE#`, `PROPOSAL#`, `SHIPMENT#`, `EVENT#`) | Query on PK |
# | a PO by id, with its parcels' counts of orders shipped | `PO#<id>` / `#COUNT#SHIPPED#` .. `#META` | Query |
# | a supplier's POs, newest first | GSI1 `SUPPLIER#<id>#POS` / `<created>#<po>` | Query |
# | a campaign's POs | GSI2 `CAMPAIGN#<id>#POS` / `<supplier>` | Query |
# | POs waiting in a stage (staff queues) | GSI3 `POS#<stage or status>` / `<created>#<po>` | Query |


def po(po_id: str) -> tuple[str, str]:
    return f"PO#{po_id}", META


def po_pk(po_id: str) -> str:
    return f"PO#{po_id}"


def po_child(po_id: str, kind: str, child_id: str) -> tuple[str, str]:
    """An invoice, payment proposal or shipment of a PO (kind: INVOICE, PROPOSAL, SHIPMENT)."""
    return f"PO#{po_id}", f"{kind}#{child_id}"


def supplier_pos_pk(supplier_id: str) -> str:
    return f"SUPPLIER#{supplier_id}#POS"


def campaign_pos_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#POS"


def pos_in_pk(stage_or_status: str) -> str:
    return f"POS#{stage_or_status}"


def refund(order_id: str, po_id: str, sku: str) -> tuple[str, str]:
    """A refund record for one order line a supplier did not accept (one per line: never twice)."""
    return f"ORDER#{order_id}", f"REFUND#{po_id}#{sku}"


# ---------------------------------------------------------------- exceptions
# | an exception with its audit events | `EXC#<id>` / (`#META`, `EVENT#`) | Query on PK / GetItem |
# | open exceptions, ranked (staff queue) | sparse GSI3 `EXCEPTIONS#OPEN` / `<severity rank>#<opened_at>#<id>` | Query |
# | resolved exceptions, newest first | sparse GSI3 `EXCEPTIONS#RESOLVED` / `<resolved_at>#<id>` | Query (one page) |
# | the queue's counters, one attribute per (status, severity, kind) cell | `EXCEPTIONS#COUNTS` / `#META`, at the head of the queue index (GSI3 `EXCEPTIONS#OPEN` / `!COUNTS`) | GetItem, or with the queue's first page |

OPEN_EXCEPTIONS_PK = "EXCEPTIONS#OPEN"
RESOLVED_EXCEPTIONS_PK = "EXCEPTIONS#RESOLVED"
EXCEPTION_COUNTS_PK = "EXCEPTIONS#COUNTS"
EXCEPTION_COUNTS_SK = "!COUNTS"  # before every record's `<severity rank>#...`: the queue's first page reads it too


def exception_counts() -> tuple[str, str]:
    return EXCEPTION_COUNTS_PK, META


def exception_count_attribute(status: str, severity: str, kind: str) -> str:
    return f"c#{status}#{severity}#{kind}"


def exception(exception_id: str) -> tuple[str, str]:
    return f"EXC#{exception_id}", META


def exception_pk(exception_id: str) -> str:
    return f"EXC#{exception_id}"


def subject_pk(subject_type: str, subject_id: str) -> str:
    """The partition whose history an exception's subject keeps (staff actions are mirrored there)."""
    if subject_type == "exception":  # an exception's own history shares its record's partition
        return exception_pk(subject_id)
    if subject_type == "po":
        return po_pk(subject_id)
    if subject_type == "order":
        return order_pk(subject_id)
    if subject_type in ("shipment", "tracking"):  # subject id: `<carrier>#<tracking number>`
        carrier, _, tracking = subject_id.partition("#")
        return shipment_pk(carrier, tracking)
    if subject_type == "webhook":  # subject id: `<sender>/<webhook id>`
        sender, _, webhook_id = subject_id.partition("/")
        return inbox_pk(sender, webhook_id)
    if subject_type in ("payment", "payment_proposal") and (key := proposal(subject_id)) is not None:  # it names its PO
        return key[0]
    if subject_type == "cancellation_request" and (key := cancellation_request(subject_id)) is not None:
        return key[0]  # a request id names its order: exceptions about it mirror into the order's history
    return f"{subject_type.upper()}#{subject_id}"


def open_exception_sk(severity_rank: int, opened_at: datetime, exception_id: str) -> str:
    return f"{severity_rank}#{ts(opened_at)}#{exception_id}"


def open_exception_rank_sk(severity_rank: int) -> str:
    """The lowest queue key of a severity rank: every record of that rank or a lower one sorts at or after it."""
    return f"{severity_rank}#"


def resolved_exception_sk(resolved_at: datetime, exception_id: str) -> str:
    return f"{ts(resolved_at)}#{exception_id}"


# ---------------------------------------------------------------- due deadlines (the sweep's index)
# | what is due by now (exceptions' grace/snooze/escalation times, subject deadlines) | sparse GSI4 `DUE#<shard>` / `<due_at>#<id>` | Query per shard, SK <= now |
# | a subject's deadline of one kind (e.g. a parcel's expected delivery) | `<subject PK>` / `DUE#<kind>` | Put / Delete |

DUE_PREFIX = "DUE#"


def due_shard(item_id: str, shards: int) -> int:
    """A stable shard per item, so a hot day never lands on one index partition."""
    return int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % max(1, shards)


def due_index(item_id: str, due_at: datetime, shards: int) -> tuple[str, str]:
    return f"{DUE_PREFIX}{due_shard(item_id, shards)}", f"{ts(due_at)}#{item_id}"


def due_shard_pk(shard: int) -> str:
    return f"{DUE_PREFIX}{shard}"


def due_until_sk(at: datetime) -> str:
    """Upper bound of the sweep's range: every entry due at or before `at`."""
    return f"{ts(at)}#~"


def deadline(subject_pk: str, kind: str) -> tuple[str, str]:
    return subject_pk, f"{DUE_PREFIX}{kind}"


# ---------------------------------------------------------------- payments and inbound webhooks
# | a payment proposal by id (the id embeds its PO) | `PO#<po>` / `PROPOSAL#<id>` | GetItem |
# | payment proposals in a status (accounting queue) | GSI3 `PROPOSALS#<status>` / `<created>#<id>` | Query |
# | an inbound webhook (dedupe by webhook-id, raw body kept) | `INBOX#<provider>#<webhook id>` / `#META` | conditional Put (TTL) |

PROPOSAL_ID_SEPARATOR = "."


def proposal_id(po_id: str, unique: str) -> str:
    """A proposal id names its PO, so approving it or settling it by id is one GetItem."""
    return f"{po_id}{PROPOSAL_ID_SEPARATOR}{unique}"


def proposal(proposal_id_: str) -> tuple[str, str] | None:
    """The key of a proposal from its id; None for an id no proposal can have."""
    po_id, sep, rest = proposal_id_.partition(PROPOSAL_ID_SEPARATOR)
    if not (sep and po_id and rest):
        return None
    return po_child(po_id, "PROPOSAL", proposal_id_)


def proposals_pk(status: str) -> str:
    return f"PROPOSALS#{status}"


def inbox(provider: str, webhook_id: str) -> tuple[str, str]:
    return f"INBOX#{provider}#{webhook_id}", META


def inbox_pk(provider: str, webhook_id: str) -> str:
    return f"INBOX#{provider}#{webhook_id}"


# ---------------------------------------------------------------- shipments and tracking
# | a shipment by carrier and tracking number, with its carrier events | `SHIPMENT#<carrier>#<tracking>` / (`#META`, `TRACK#<occurred>#<code>`, `EVENT#`) | GetItem / Query on PK |
# | shipments by tracking number alone (staff search) | GSI1 `TRACKING#<tracking>` / `<carrier>` | Query |
# | an order's shipments, for the customer's view | `ORDER#<id>` / `SHIPMENT#<shipment id>` | part of the order's Query |
# | a PO's shipments | `PO#<id>` / `SHIPMENT#<shipment id>` | part of the PO's Query |
# | orders a PO has shipped (counted once each) | `PO#<id>` / `SHIPPED#<order>` | BatchGetItem, conditional Put |
# | how many orders a PO's parcels have shipped, in shards (no index attributes) | `PO#<id>` / `#COUNT#SHIPPED#<n>` | read with the PO (`#COUNT#SHIPPED#` to `#META`: one Query, or the parcel's BatchGetItem), ADDed by each parcel |


def shipment(carrier: str, tracking_number: str) -> tuple[str, str]:
    return shipment_pk(carrier, tracking_number), META


def shipment_pk(carrier: str, tracking_number: str) -> str:
    return f"SHIPMENT#{carrier}#{tracking_number}"


def track_event(carrier: str, tracking_number: str, event_key: str) -> tuple[str, str]:
    """One carrier event (`event_key`: occurred time and the carrier's code): written once."""
    return shipment_pk(carrier, tracking_number), f"{TRACK_PREFIX}{event_key}"


TRACK_PREFIX = "TRACK#"


def tracking_index(tracking_number: str, carrier: str) -> tuple[str, str]:
    return tracking_index_pk(tracking_number), carrier


def tracking_index_pk(tracking_number: str) -> str:
    return f"TRACKING#{tracking_number}"


def order_shipment(order_id: str, shipment_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", f"SHIPMENT#{shipment_id}"


def po_shipped_order(po_id: str, order_id: str) -> tuple[str, str]:
    return f"PO#{po_id}", f"SHIPPED#{order_id}"


# A PO's parcels count the orders they ship in this many items beside the PO (each parcel ADDs to one,
# picked by its id): at 100 parcels/s on one PO each takes ~12 writes/s, and two parcels' transactions
# rarely meet on one. They sort just before the PO's `#META`, so a PO and its counts are one Query (and
# the PO's file, which reads from `#META` on, does not read them). May only grow: readers read them all.
PO_SHIPPED_SHARDS = 8
PO_SHIPPED_PREFIX = "#COUNT#SHIPPED#"


def po_shipped_count(po_id: str, shard: int) -> tuple[str, str]:
    return f"PO#{po_id}", f"{PO_SHIPPED_PREFIX}{shard:02d}"


def po_shipped_shard(shipment_id: str) -> int:
    """The count a parcel adds to: spread by its (random) id."""
    return int(hashlib.sha256(shipment_id.encode()).hexdigest()[:8], 16) % PO_SHIPPED_SHARDS


def attempts(scope: str, window: int) -> tuple[str, str]:
    return f"ATTEMPTS#{scope}", f"WINDOW#{window}"


# ---------------------------------------------------------------- notifications: outbox, preferences, digest
# | the outbox record of one (event, address): each e-mail sent once | `OUTBOX#<event id>` / `TO#<address>` | BatchGetItem, conditional Put / Update (TTL 30 days) |
# | a person's notification preferences (by address, lower case) | `NOTIFYPREF#<address>` / `#META` | GetItem / BatchGetItem / Put |
# | mail held for the daily digest | sparse GSI1 `DIGEST#PENDING` / `<address>#<held at>#<event id>` on the outbox record | Query |
# | the daily digest of one address and UTC day | `OUTBOX#digest#<yyyy-mm-dd>` / `TO#<address>` | as any outbox record |

DIGEST_PENDING_PK = "DIGEST#PENDING"


def outbox(event_id: str, address: str) -> tuple[str, str]:
    return f"OUTBOX#{event_id}", f"TO#{address}"


def notification_preferences(address: str) -> tuple[str, str]:
    return f"NOTIFYPREF#{address}", META


def digest_pending_sk(address: str, held_at: datetime, event_id: str) -> str:
    return f"{address}#{ts(held_at)}#{event_id}"


def digest_event_id(day: str) -> str:
    """The outbox 'event' of one day's digest: one per (address, UTC day)."""
    return f"digest#{day}"


# ---------------------------------------------------------------- outbound webhooks (issue 7)
# | a webhook subscription (its secrets, its audit events, exception mirrors) | `SUBSCRIPTION#<id>` / (`#META`, `EVENT#`) | GetItem / Query on PK |
# | all subscriptions (staff list) | GSI1 `WEBHOOKSUBS` / `<created>#<id>` | Query |
# | active subscriptions (the webhooks-out consumer, per event) | sparse GSI2 `WEBHOOKSUBS#ACTIVE` / `<created>#<id>` | Query |
# | a delivery with its attempts inline (id = the webhook id) | `WHDELIVERY#<id>` / `#META` | conditional Put / GetItem |
# | a subscription's deliveries, newest first (optionally filtered by status) | GSI1 `WHDELIVERIES#SUB#<id>` / `<created>#<id>` | Query |
# | deliveries in a status | GSI2 `WHDELIVERIES#STATUS#<status>` / `<created>#<id>` | Query |
# | all deliveries | GSI3 `WHDELIVERIES` / `<created>#<id>` | Query |
# | a delivery's next attempt (or its lease while sending) | sparse GSI4 `DUE#<shard>` (due_index) | the sweep's Query |

WEBHOOK_SUBSCRIPTIONS_PK = "WEBHOOKSUBS"
ACTIVE_WEBHOOK_SUBSCRIPTIONS_PK = "WEBHOOKSUBS#ACTIVE"
WEBHOOK_DELIVERIES_PK = "WHDELIVERIES"


def webhook_subscription_pk(subscription_id: str) -> str:
    return subject_pk("subscription", subscription_id)  # exceptions about it mirror into its history


def webhook_subscription(subscription_id: str) -> tuple[str, str]:
    return webhook_subscription_pk(subscription_id), META


def webhook_delivery(delivery_id: str) -> tuple[str, str]:
    return f"WHDELIVERY#{delivery_id}", META


def subscription_deliveries_pk(subscription_id: str) -> str:
    return f"WHDELIVERIES#SUB#{subscription_id}"


def deliveries_in_status_pk(status: str) -> str:
    return f"WHDELIVERIES#STATUS#{status}"


# ---------------------------------------------------------------- exports (issue 7)
# | an export run with its audit events | `EXPORT#<id>` / (`#META`, `EVENT#`) | GetItem / Query on PK |
# | recent export runs, newest first | GSI1 `EXPORTS` / `<created>#<id>` | Query |
# | the run an exporter is running (one at a time; its chain's next waits) | `EXPORTER#<name>` / `#LOCK` | conditional Put / Delete in the run's transactions, BatchGetItem |
# | that an exporter exported a record (and in which run) | `<record PK>` / `EXPORTED#<exporter>#<record id>` | BatchGetItem per page, BatchWriteItem |
# | records to export, by creation time: orders | GSI4 `ORDERS` / `<created>#<order>` (above) | Query page by page |
# | ... purchase orders | sparse GSI4 `POS` / `<created>#<po>` | Query |
# | ... payment proposals | sparse GSI4 `PAYMENTS` / `<created>#<proposal>` | Query |
# | ... shipments (parcels) | sparse GSI4 `SHIPMENTS#<n>` / `<created>#<shipment>` | one Query per shard, merged |

ALL_EXPORTS_PK = "EXPORTS"
ALL_POS_PK = "POS"
ALL_PAYMENTS_PK = "PAYMENTS"
ALL_SHIPMENTS_PREFIX = "SHIPMENTS"


def all_shipments_pk(shipment_id: str) -> str:
    """Every parcel is listed here (exports): sharded, as ~7 writes per parcel would heat one key."""
    return _sharded(ALL_SHIPMENTS_PREFIX, index_shard(shipment_id))


def all_shipments_pks() -> list[str]:
    return _shards(ALL_SHIPMENTS_PREFIX)


def export_run(run_id: str) -> tuple[str, str]:
    return export_pk(run_id), META


def export_pk(run_id: str) -> str:
    return f"EXPORT#{run_id}"


def exporter_lock(exporter: str) -> tuple[str, str]:
    return f"EXPORTER#{exporter}", "#LOCK"


def exported_marker(record_pk: str, exporter: str, record_id: str) -> tuple[str, str]:
    return record_pk, f"EXPORTED#{exporter}#{record_id}"


def export_source_pks(kind: str) -> list[str]:
    """The GSI4 partitions holding every record of an export kind by creation time (orders and parcels:
    their write shards; POs and payments are few enough for one key)."""
    return {
        "orders": all_orders_pks,
        "purchase_orders": lambda: [ALL_POS_PK],
        "payments": lambda: [ALL_PAYMENTS_PK],
        "shipments": all_shipments_pks,
    }[kind]()


def export_source_pk(kind: str) -> str:
    """The first of `export_source_pks` (a partition of the kind, e.g. to warm a cache)."""
    return export_source_pks(kind)[0]


def created_bound(at: datetime, *, upper: bool) -> str:
    """A sort-key bound on `<created>#<id>`: every record created at `at` falls inside the range."""
    return f"{ts(at)}#{'~' if upper else ''}"


# ---------------------------------------------------------------- metrics counters (issue 7)
# | time in stage for a campaign | `STATS#CAMPAIGN#<id>` / `STAGE#<stage>#<shard>` | atomic ADD in the transition's transaction |
# | time in stage for a supplier | `STATS#SUPPLIER#<id>` / `STAGE#<stage>#<shard>` | the same |
# | time in stage over everything | `STATS#ALL` / `STAGE#<stage>#<shard>` | the same |
# | a campaign's summary (orders, revenue, cost) | `STATS#CAMPAIGN#<id>#SUMMARY#<n>` / `SUMMARY#<n>` | atomic ADD in the order's transaction |
# | reading a scope's counters: every stage shard and (campaigns) every summary shard | the keys above | ONE BatchGetItem |
# A counter is split over shards picked by the subject's id (order, PO) so that concurrent
# transactions rarely touch the same item (a transaction conflict). Stage counters move once per PO
# stage (a few a minute, whatever the order rate): STATS_SHARDS items under one key. Counters that
# every order moves (summary, orders per status, sales) take COUNTER_SHARDS items, each under its own
# partition key: ~5 status moves and ~3 summary adds per order at 100 orders/s would put ~800 writes/s
# on one partition key if the shards shared it. Readers name every shard: one BatchGetItem (<= 100 keys).
# Both counts are deploy-time settings that may only GROW (readers read range(count)).

STATS_SHARDS = 4
COUNTER_SHARDS = 32
ALL_STATS_PK = "STATS#ALL"
STATS_STAGE_PREFIX = "STAGE#"
STATS_SUMMARY_PREFIX = "SUMMARY#"


def stats_shard(subject_id: str) -> int:
    """The stage-counter shard of a PO."""
    return int(hashlib.sha256(subject_id.encode()).hexdigest()[:8], 16) % STATS_SHARDS


def counter_shard(subject_id: str) -> int:
    """The shard of a counter every order moves (summary, orders per status, sales)."""
    return int(hashlib.sha256(subject_id.encode()).hexdigest()[:8], 16) % COUNTER_SHARDS


def campaign_stats_pk(campaign_id: str) -> str:
    return f"STATS#CAMPAIGN#{campaign_id}"


def supplier_stats_pk(supplier_id: str) -> str:
    return f"STATS#SUPPLIER#{supplier_id}"


def stage_stats_sk(stage: str, shard: int) -> str:
    return f"{STATS_STAGE_PREFIX}{stage}#{shard}"


def stage_stats_keys(stats_pk: str, stages: list[str]) -> list[tuple[str, str]]:
    """Every shard of every stage's counters of a scope."""
    return [(stats_pk, stage_stats_sk(stage, shard)) for stage in stages for shard in range(STATS_SHARDS)]


def summary_stats_sk(shard: int) -> str:
    return f"{STATS_SUMMARY_PREFIX}{shard}"


def campaign_summary(campaign_id: str, subject_id: str) -> tuple[str, str]:
    """The summary shard an order or PO of the campaign adds to."""
    shard = counter_shard(subject_id)
    return f"{campaign_stats_pk(campaign_id)}#{STATS_SUMMARY_PREFIX}{shard}", summary_stats_sk(shard)


def campaign_summary_keys(campaign_id: str) -> list[tuple[str, str]]:
    return [(f"{campaign_stats_pk(campaign_id)}#{STATS_SUMMARY_PREFIX}{n}", summary_stats_sk(n)) for n in range(COUNTER_SHARDS)]


# | orders per status (the staff dashboard) | `STATS#ORDERS#<n>` / `#COUNTS`, a number attribute per status | BatchGetItem of the shards |
# One item per shard holds every status (`status|<status>`), so a move is ONE update (+1 in the new
# status, -1 in the old) and the read is COUNTER_SHARDS keys, not statuses x shards.
ORDER_STATUS_STATS_PREFIX = "STATS#ORDERS"
ORDER_STATUS_COUNTS_SK = "#COUNTS"
ORDER_STATUS_ATTRIBUTE_PREFIX = "status|"


def order_status_stats(order_id: str) -> tuple[str, str]:
    return f"{ORDER_STATUS_STATS_PREFIX}#{counter_shard(order_id)}", ORDER_STATUS_COUNTS_SK


def order_status_stats_keys() -> list[tuple[str, str]]:
    return [(f"{ORDER_STATUS_STATS_PREFIX}#{n}", ORDER_STATUS_COUNTS_SK) for n in range(COUNTER_SHARDS)]


# | a campaign's sales so far per supplier and product | `STATS#SALES#<campaign>#<n>` / `SHARD#<n>` | atomic ADD of
# `units|<supplier>|<sku>` and `cents|<supplier>|<sku>` in the order's transaction; BatchGetItem of the shards |
SALES_SHARD_PREFIX = "SHARD#"


def campaign_sales_pk(campaign_id: str) -> str:
    """The prefix of a campaign's sales shards' keys."""
    return f"STATS#SALES#{campaign_id}"


def campaign_sales(campaign_id: str, subject_id: str) -> tuple[str, str]:
    shard = counter_shard(subject_id)
    return f"{campaign_sales_pk(campaign_id)}#{shard}", f"{SALES_SHARD_PREFIX}{shard}"


def campaign_sales_keys(campaign_id: str) -> list[tuple[str, str]]:
    return [(f"{campaign_sales_pk(campaign_id)}#{n}", f"{SALES_SHARD_PREFIX}{n}") for n in range(COUNTER_SHARDS)]


# | a trend's counters per day or week (services/ports_trends.py) | `TREND#<series>` / `<period>#<n>` | atomic ADD
# in the event's transaction; ONE Query of the partition over a range of periods |
# Sharded over TREND_SHARDS items per period (picked by the subject's id, else at random): at 100 orders/s
# each `orders` item takes ~12 writes/s. The shards share the partition key so that a series over a
# range is one Query (30 days x 8 shards: 240 small items); the partition takes the series' whole rate,
# far under a partition's 1,000 writes/s. A deploy-time setting that may only GROW (readers sum what
# they find, so any count reads right).
TREND_SHARDS = 8


def trend(series: str, period: str, subject_id: str | None) -> tuple[str, str]:
    shard = int(hashlib.sha256(subject_id.encode()).hexdigest()[:8], 16) % TREND_SHARDS if subject_id else _random_shard()
    return trend_pk(series), f"{period}#{shard:02d}"


def trend_pk(series: str) -> str:
    return f"TREND#{series}"


def trend_range(first: str, last: str) -> tuple[str, str]:
    """The sort-key bounds of the periods `first`..`last` (every shard of both)."""
    return f"{first}#", f"{last}#~"


def _random_shard() -> int:
    import secrets

    return secrets.randbelow(TREND_SHARDS)


# ---------------------------------------------------------------- complaints (issue 9)
# | a complaint with its return authorisation and audit trail | `COMPLAINT#<id>` / (`#META`, `RETURN#<rma>`, `EVENT#`) | Query on PK |
# | an order's complaints (the customer's list) | GSI1 `ORDER#<id>#COMPLAINTS` / `<opened>#<complaint>` | Query |
# | a PO's complaints (the supplier sees them on its PO) | GSI2 `PO#<id>#COMPLAINTS` / `<opened>#<complaint>` | Query |
# | complaints in a status (the staff queue) | GSI3 `COMPLAINTS#<status>` / `<opened>#<complaint>` | Query |
# | every complaint, newest first | GSI4 `COMPLAINTS` / `<opened>#<complaint>` | Query |
# | a complaint's refunds (the order's payment history) | `ORDER#<id>` / `PAYMENT#<refund id>` | part of the order's Query |
# | what an order has refunded through complaints (the cap) | `ORDER#<id>` / `#REFUNDED` | conditional ADD in the refund's transaction |
# | a return or replacement parcel, by carrier and tracking number | `SHIPMENT#<carrier>#<tracking>` / `#COMPLAINT` | GetItem when no shipment has the number |
# | charge-backs of a PO | `PO#<id>` / `CHARGEBACK#<refund id>` | part of the PO's Query |
# | charge-backs of a campaign, per supplier | GSI1 `CAMPAIGN#<id>#CHARGEBACKS` / `<supplier>#<refund id>` | Query |


def complaint(complaint_id: str) -> tuple[str, str]:
    return complaint_pk(complaint_id), META


def complaint_pk(complaint_id: str) -> str:
    return f"COMPLAINT#{complaint_id}"


def complaint_return(complaint_id: str, rma_id: str) -> tuple[str, str]:
    return complaint_pk(complaint_id), f"RETURN#{rma_id}"


def order_complaints_pk(order_id: str) -> str:
    return f"ORDER#{order_id}#COMPLAINTS"


def po_complaints_pk(po_id: str) -> str:
    return f"PO#{po_id}#COMPLAINTS"


def complaints_in_pk(status: str) -> str:
    return f"COMPLAINTS#{status}"


ALL_COMPLAINTS_PK = "COMPLAINTS"


def delivery_claims(order_id: str, supplier_id: str) -> tuple[str, str]:
    """Versioned once per complaint opened on the delivery: concurrent openings cannot over-claim."""
    return order_pk(order_id), f"CLAIMS#{supplier_id}"


def stable_hash(text: str, length: int = 16) -> str:
    """A short, stable, non-reversible token of a value (e.g. a customer id inside an S3 key)."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def refund_ledger(order_id: str) -> tuple[str, str]:
    return order_pk(order_id), "#REFUNDED"


def complaint_parcel(carrier: str, tracking_number: str) -> tuple[str, str]:
    return shipment_pk(carrier, tracking_number), "#COMPLAINT"


def charge_back(po_id: str, refund_id: str) -> tuple[str, str]:
    return po_pk(po_id), f"CHARGEBACK#{refund_id}"


def campaign_charge_backs_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#CHARGEBACKS"


# ---------------------------------------------------------------- staff's settings (services/tunables.py)
SETTINGS_PK = "SETTINGS"


def stored_settings() -> tuple[str, str]:
    return SETTINGS_PK, "#CURRENT"


# ---------------------------------------------------------------- assignments (services/assignments.py)


def assignment(subject: str, subject_id: str) -> tuple[str, str]:
    return f"ASSIGNMENT#{subject}#{subject_id}", META


def work_pk(assignee: str) -> str:
    """GSI1: a person's assigned subjects."""
    return f"WORK#{assignee}"


def team_work_pk(team: str) -> str:
    """GSI2: a team's assigned subjects."""
    return f"WORK#TEAM#{team}"


def work_sk(rank: int, assigned_at: datetime, subject: str, subject_id: str) -> str:
    """Priority first (0 = critical), then oldest."""
    return f"{rank}#{ts(assigned_at)}#{subject}#{subject_id}"


# ---------------------------------------------------------------- search (services/search.py)
# A find item per (thing, slot) under the thing's own search partition: a rename Puts its slot again,
# moving its index entry. Terms are normalised (domain/search.py) and indexed under their first 3
# characters; an order's reference without its constant "WB" (that would put every order under one key).
SAVED_VIEW_PREFIX = "VIEW#"


def find_item(kind: str, thing_id: str, slot: str) -> tuple[str, str]:
    return f"SEARCH#{kind}#{thing_id}", f"TERM#{slot}"


def find_pk(term: str, prefix: int) -> str:
    """GSI1 (3 characters) or GSI2 (2, suppliers and campaigns only): the partition a term is found in."""
    return f"FIND{'' if prefix == 3 else prefix}#{term[:prefix]}"


def find_sk(term: str, kind: str, thing_id: str, slot: str) -> str:
    return f"{term}#{kind}#{thing_id}#{slot}"


def staff_pk(owner: str) -> str:
    return f"STAFF#{owner.strip().lower()}"


def saved_view(owner: str, screen: str, name_key: str) -> tuple[str, str]:
    return staff_pk(owner), f"{SAVED_VIEW_PREFIX}{screen}#{name_key}"
