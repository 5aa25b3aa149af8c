"""Fixtures for the suites that run against moto (api/, adapters/): a fresh account per
test with every resource of the topology provisioned, a Chalice test client, tokens."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters.aws import reset_clients
from chalicelib.config import settings
from chalicelib.local.moto_costs import cut_per_request_costs
from chalicelib.local.moto_index import queries_read_their_partition, reads_answered_as_json
from chalicelib.local.provision import Provisioned, provision
from chalicelib.local.server import stream_records_answered_as_stored, transactions_with_undo_log
from tests.conftest import ISSUER

# In-process moto undoes a cancelled transaction the way the embedded AWS does (an undo log of the
# items it touched) instead of moto's copy of the whole table per transaction item: the same
# outcome, and those copies were about 40% of the api/ and adapters/ suites' time.
transactions_with_undo_log(threading.Lock())
# and reads cost what they cost on the embedded AWS (chalicelib/local/moto_index.py)
queries_read_their_partition()
reads_answered_as_json()
stream_records_answered_as_stored()
cut_per_request_costs()  # and what moto costs per request (chalicelib/local/moto_costs.py)


def _share_the_unused_key_pair_of_symmetric_keys() -> None:
    """moto makes every KMS key an RSA-2048 key pair, symmetric ones too, where only Sign/Verify/
    GetPublicKey (asymmetric keys) ever use it: ~50 ms of each test's provisioning, for nothing. A
    symmetric key here gets one pair made once; its own key material, and every other spec, stay moto's."""
    from moto.kms import models

    real = models.generate_private_key
    made: dict[str, Any] = {}

    def generate(key_spec: str) -> Any:
        if key_spec != "SYMMETRIC_DEFAULT":
            return real(key_spec)
        if key_spec not in made:
            made[key_spec] = real(key_spec)
        return made[key_spec]

    models.generate_private_key = generate


_share_the_unused_key_pair_of_symmetric_keys()

# ---------------------------------------------------------------- provisioning, once per process

_SNAPSHOTS: dict[Any, tuple[tuple[list[Any], list[Any]], Provisioned]] = {}


@contextlib.contextmanager
def _copyable_moto_state() -> Iterator[None]:
    """What `copy.deepcopy` needs to copy moto's backends: a fresh lock or condition for each one (an
    SQS queue's), and SSM's parameter dict (its constructor takes the account and region)."""
    from moto.ssm.models import ParameterDict

    def parameters(d: Any, memo: dict[int, Any]) -> Any:
        new = ParameterDict(d.account_id, d.region_name)
        memo[id(d)] = new
        new.__dict__.update(copy.deepcopy(d.__dict__, memo))
        for k, v in d.items():
            new[k] = copy.deepcopy(v, memo)
        return new

    dispatch = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    added = {
        type(threading.Lock()): lambda _x, _memo: threading.Lock(),
        type(threading.RLock()): lambda _x, _memo: threading.RLock(),
        threading.Condition: lambda _x, _memo: threading.Condition(),
        ParameterDict: parameters,
    }
    dispatch.update(added)
    try:
        yield
    finally:
        for k in added:
            dispatch.pop(k, None)


def provisioned(topology: Any = None, *, session: Any = None) -> Provisioned:
    """`provision()` into the running moto mock, made once per process and topology: the first
    account is provisioned through the API and kept as a copy of moto's backends; every later one
    starts from a copy of that copy (~5 ms instead of ~270 ms of API calls per test). Call it right
    after `mock_aws` starts, before anything else touches the account."""
    from moto.core.base_backend import BackendDict

    from chalicelib.local.provision import ACCOUNT
    from chalicelib.topology import TOPOLOGY

    topology = TOPOLOGY if topology is None else topology
    key = (repr(topology), id(session) if session is not None else None)  # a Topology holds dicts: not hashable
    kept = _SNAPSHOTS.get(key)
    if kept is None:
        result = provision(topology, session=session) if session is not None else provision(topology)
        services = [b for b in BackendDict._instances if dict.__contains__(b, ACCOUNT)]
        with _copyable_moto_state():  # one copy of them all, so what they share stays shared
            accounts = copy.deepcopy([dict.__getitem__(b, ACCOUNT) for b in services])
        _SNAPSHOTS[key] = ((services, accounts), result)
        return result
    (services, accounts), result = kept
    with _copyable_moto_state():
        fresh = copy.deepcopy(accounts)
    for backend_dict, account in zip(services, fresh, strict=True):
        dict.__setitem__(backend_dict, ACCOUNT, account)
        if backend_dict not in BackendDict._instances:
            BackendDict._instances.append(backend_dict)  # so that the mock's end resets it
    return result


# In-process moto cannot run a state machine's service integrations (they call a moto server:
# tests/workflows has one), and parsing the ASL for execution costs 0.6 s per account. Here
# executions are only started and described.
SFN_CONFIG = {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": False}}


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        settings.use_overrides(None)  # staff's overrides read from this test's table, not a previous one's
        yield provisioned()
    settings.use_overrides(None)
    reset_clients()


@pytest.fixture
def client(aws: Provisioned) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test") as c:  # not "dev": its WAYBILL_STAGE=local would leak into settings read in a request
        yield c


def token(sub: str, *roles: str, **claims: Any) -> str:
    return ISSUER.token(sub, list(roles), **claims)


def headers(sub: str, *roles: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, *roles, **claims)}", "Content-Type": "application/json"}


class Api:
    """Small helper over the Chalice test client: JSON in, (status, JSON) out."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        who: dict[str, str] | None = None,
        body: Any = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        hdrs = {**(who or {}), **(extra_headers or {})}
        raw = body if isinstance(body, (str, bytes)) else (json.dumps(body) if body is not None else b"")
        r = self.client.http.request(method, path, headers=hdrs, body=raw if isinstance(raw, bytes) else raw.encode())
        return r.status_code, (json.loads(r.body) if r.body else None)

    def get(self, path: str, who: dict[str, str] | None = None) -> tuple[int, Any]:
        return self.call("GET", path, who)

    def post(self, path: str, who: dict[str, str] | None = None, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.call("POST", path, who, {} if body is None else body, **kw)

    def put(self, path: str, who: dict[str, str] | None = None, body: Any = None) -> tuple[int, Any]:
        return self.call("PUT", path, who, {} if body is None else body)


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


BUYER = headers("buyer-1", "buyer", email="buyer@waybill.example", name="Bea Buyer")
CARE = headers("care-1", "customer_care", email="care@waybill.example")
ADMIN = headers("admin-1", "admin", email="admin@waybill.example")
ACCOUNTING = headers("acc-1", "accounting")
ALICE = headers("cust-alice", "customer", email="alice@example.com")
BOB = headers("cust-bob", "customer", email="bob@example.com")


def live_campaign(api: Api, *, prices: tuple[int, ...] = (1200, 2500, 900)) -> dict[str, Any]:
    """Two suppliers, three products (two from the first supplier), live now."""
    for sid, name in (("acme", "Acme Mugs"), ("bolt", "Bolt Caps")):
        status, body = api.post("/staff/suppliers", BUYER, {"id": sid, "name": name, "contact_emails": [f"orders@{sid}.example"]})
        assert status in (201, 409), body
    products = [
        {"sku": "MUG-1", "name": "Mug", "supplier_id": "acme", "unit_price_cents": prices[0], "unit_cost_cents": 500},
        {"sku": "MUG-2", "name": "Big mug", "supplier_id": "acme", "unit_price_cents": prices[1], "unit_cost_cents": 900},
        {"sku": "CAP-1", "name": "Cap", "supplier_id": "bolt", "unit_price_cents": prices[2], "unit_cost_cents": 300},
    ]
    status, campaign = api.post("/staff/campaigns", BUYER, {"name": "Winter sale", "products": products})
    assert status == 201, campaign
    status, campaign = api.post(f"/staff/campaigns/{campaign['id']}/go-live", BUYER, {})
    assert status == 200, campaign
    return campaign
