"""moto's per-request costs cut in the embedded AWS and the in-process suites
(chalicelib/local/moto_costs.py): each answers what moto's own code answers."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import responses
from moto.core.utils import unix_time_millis
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.responses import DynamoHandler
from moto.events.responses import EventsHandler
from moto.sqs.models import Message, Queue
from moto.sqs.responses import SQSResponse

from chalicelib.local.moto_costs import ITEM_SIZE_LIMIT
from chalicelib.local.provision import Provisioned
from chalicelib.topology import TABLE
from tests.conftest import EVERY_ATTRIBUTE_TYPE


def _built(init: Any, attrs: dict[str, Any]) -> Item | type[Exception]:
    item = Item.__new__(Item)
    try:
        init(item, {"S": "h"}, {"S": "r"}, attrs)
    except ItemSizeTooLarge:
        return ItemSizeTooLarge
    return item


@pytest.mark.parametrize("padding", [0, 1_000, ITEM_SIZE_LIMIT - 200, ITEM_SIZE_LIMIT - 120, ITEM_SIZE_LIMIT])
def test_an_item_is_built_and_refused_as_moto_builds_and_refuses_it(padding: int) -> None:
    attrs = {**EVERY_ATTRIBUTE_TYPE, "pad": {"S": "x" * padding}}
    ours, motos = _built(Item.__init__, attrs), _built(Item.__init__.original, attrs)  # type: ignore[attr-defined]
    if motos is ItemSizeTooLarge:
        assert ours is ItemSizeTooLarge
    else:
        assert isinstance(ours, Item) and isinstance(motos, Item)
        assert ours.attrs == motos.attrs and list(ours.attrs) == list(motos.attrs)
        assert type(ours.attrs) is type(motos.attrs)


def test_the_size_limit_sits_where_moto_puts_it() -> None:
    """Both sides of the boundary: the item whose size is the limit is kept, one byte more is refused."""
    base = {"k": {"S": ""}}
    exact = {"k": {"S": "x" * (ITEM_SIZE_LIMIT - 1)}}  # 1 byte of name + the value
    over = {"k": {"S": "x" * ITEM_SIZE_LIMIT}}
    for init in (Item.__init__, Item.__init__.original):  # type: ignore[attr-defined]
        assert isinstance(_built(init, base), Item)
        assert isinstance(_built(init, exact), Item)
        assert _built(init, over) is ItemSizeTooLarge


def test_an_oversized_put_is_still_a_validation_error_and_an_update_still_checks(aws: Provisioned) -> None:
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    key = {"PK": {"S": "BIG"}, "SK": {"S": "#META"}}
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=TABLE.name, Item={**key, "blob": {"S": "x" * ITEM_SIZE_LIMIT}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item size" in refused.value.response["Error"]["Message"]
    ddb.put_item(TableName=TABLE.name, Item={**key, "blob": {"S": "x" * (ITEM_SIZE_LIMIT // 2)}})
    with pytest.raises(ClientError) as grown:  # a set on a stored item still goes through moto's check
        ddb.update_item(
            TableName=TABLE.name,
            Key=key,
            UpdateExpression="SET more = :v",
            ExpressionAttributeValues={":v": {"S": "y" * (ITEM_SIZE_LIMIT // 2 + 10)}},
        )
    assert grown.value.response["Error"]["Code"] == "ValidationException"
    assert ddb.get_item(TableName=TABLE.name, Key=key)["Item"]["blob"]["S"] == "x" * (ITEM_SIZE_LIMIT // 2)


def test_an_action_list_is_the_classs_methods_and_no_caller_can_change_it() -> None:
    for handler in (DynamoHandler, SQSResponse, EventsHandler):
        listed = responses.method_names_from_class(handler)
        assert listed == responses.method_names_from_class.original(handler)  # type: ignore[attr-defined]
        assert "put_item" in listed or "send_message" in listed or "put_events" in listed
        listed.clear()
        assert responses.method_names_from_class(handler) == responses.method_names_from_class.original(handler)  # type: ignore[attr-defined]


def test_a_queues_visible_messages_are_the_ones_moto_finds() -> None:
    queue = Queue.__new__(Queue)
    now = unix_time_millis()
    messages = []
    for i, (visible_at, delayed_until) in enumerate(
        [(0.0, 0.0), (now + 60_000, 0.0), (0.0, now + 60_000), (now - 1_000, now - 500), (now + 60_000, now + 60_000)]
    ):
        message = Message.__new__(Message)
        message.id = f"m{i}"
        message.visible_at, message.delayed_until = visible_at, delayed_until
        messages.append(message)
    queue._messages = messages
    ours = [m.id for m in Queue.messages.fget(queue)]  # type: ignore[attr-defined]
    motos = [m.id for m in Queue.messages.fget.original(queue)]  # type: ignore[attr-defined]
    assert ours == motos == ["m0", "m3"]
    time.sleep(0.002)
    assert [m.id for m in queue.messages] == ["m0", "m3"]


@pytest.mark.parametrize(
    "expression",
    [
        "attribute_not_exists(PK)",
        "#v = :v AND (attribute_exists(#s) OR size(#l) > :n) AND NOT begins_with(a.b[0], :p)",
        "x IN (:a, :b) AND y BETWEEN :lo AND :hi",
    ],
)
def test_a_condition_is_split_into_the_tokens_moto_splits_it_into(expression: str) -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    lex = ConditionExpressionParser._lex_condition_expression
    parser = ConditionExpressionParser(expression, None, None)
    first, motos = lex(parser), lex.original(parser)  # type: ignore[attr-defined]
    assert list(first) == list(motos) and len(first) > 1
    first.clear()  # the parse consumes what it is given: the next one is whole again
    assert list(lex(parser)) == list(motos)


def test_conditions_still_decide_as_moto_decides(aws: Provisioned) -> None:
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    key = {"PK": {"S": "COND"}, "SK": {"S": "#META"}}
    ddb.put_item(TableName=TABLE.name, Item={**key, "version": {"N": "1"}}, ConditionExpression="attribute_not_exists(PK)")
    with pytest.raises(ClientError) as again:
        ddb.put_item(TableName=TABLE.name, Item={**key, "version": {"N": "1"}}, ConditionExpression="attribute_not_exists(PK)")
    assert again.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    for stale, fresh in ((3, 1), (1, 2)):  # the same text with other values: each decided on its own values
        update = {
            "TableName": TABLE.name,
            "Key": key,
            "UpdateExpression": "SET version = :new",
            "ConditionExpression": "version = :seen",
        }
        with pytest.raises(ClientError):
            ddb.update_item(**update, ExpressionAttributeValues={":seen": {"N": str(stale)}, ":new": {"N": "9"}})
        ddb.update_item(**update, ExpressionAttributeValues={":seen": {"N": str(fresh)}, ":new": {"N": str(fresh + 1)}})
    assert ddb.get_item(TableName=TABLE.name, Key=key)["Item"]["version"] == {"N": "3"}
