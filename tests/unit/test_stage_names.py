"""Stage-scoped physical names (`topology.physical` / `topology.staged`): deployed stages share an
account without sharing a name; the local and test stages keep the names they always had."""

from __future__ import annotations

from chalicelib.config import load_settings
from chalicelib.topology import TOPOLOGY, physical, staged


def test_the_local_and_test_stages_keep_every_name():
    assert staged(TOPOLOGY, "local") == TOPOLOGY
    assert staged(TOPOLOGY, "test") == TOPOLOGY


def test_a_deployed_stage_scopes_every_name_after_the_app_prefix():
    prod = staged(TOPOLOGY, "prod")
    assert prod.table.name == "waybill-prod-main"
    assert prod.bus == "waybill-prod-bus"
    assert prod.alerts_topic == "waybill-prod-ops-alerts"
    assert {q.name for q in prod.queues} == {physical(q.name, "prod") for q in TOPOLOGY.queues}
    assert all(q.dlq_name.startswith("waybill-prod-") for q in prod.queues)
    assert [s.name for s in prod.secrets][0] == "waybill/prod/webhooks/inbound"
    assert prod.parameters[0].name == "/waybill/prod/deployed-settings"
    assert {m.name for m in prod.state_machines} == {"waybill-prod-supplier-fulfilment", "waybill-prod-delivery-tracking"}


def test_rules_still_route_to_their_queues_and_queues_keep_their_settings():
    prod = staged(TOPOLOGY, "prod")
    names = {q.name for q in prod.queues}
    assert all(rule.queue in names for rule in prod.rules)
    for before, after in zip(TOPOLOGY.queues, prod.queues, strict=True):
        assert (after.handler, after.batch_size, after.visibility_timeout_s) == (
            before.handler,
            before.batch_size,
            before.visibility_timeout_s,
        )


def test_two_stages_share_no_name():
    dev, prod = staged(TOPOLOGY, "dev"), staged(TOPOLOGY, "prod")
    assert {q.name for q in dev.queues}.isdisjoint(q.name for q in prod.queues)
    assert dev.table.name != prod.table.name and dev.bus != prod.bus


def test_the_runtime_reads_its_secret_names_from_the_environment():
    assert load_settings({}).inbound_webhooks_secret == "waybill/webhooks/inbound"  # local
    deployed = load_settings({"WAYBILL_STAGE": "prod", "WAYBILL_INBOUND_WEBHOOKS_SECRET": "waybill/prod/webhooks/inbound"})
    assert deployed.inbound_webhooks_secret == "waybill/prod/webhooks/inbound"
