"""PutItem, GetItem, DeleteItem, UpdateItem: conditions, update expressions, returned
values, and the errors DynamoDB gives for each."""

import json

import botocore.exceptions
import pytest

from conftest import create_table, unique


@pytest.fixture(scope="module")
def items(cluster):
    """A hash+range table in us-east's client (S hash, N range)."""
    client = cluster.client("us-east")
    name = unique("items")
    create_table(client, name, hash_key=("pk", "S"), range_key=("sk", "N"))
    return client, name


def key(pk, sk=1):
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response


def test_every_type_round_trips_through_put_and_get(items):
    client, name = items
    item = {**key("types"), "s": {"S": "text"}, "n": {"N": "-12.5"}, "big": {"N": "12345678901234567890123456789012345678"},
            "b": {"B": b"\x00\xff"}, "t": {"BOOL": True}, "z": {"NULL": True}, "l": {"L": [{"S": "a"}, {"N": "1"}]},
            "m": {"M": {"inner": {"SS": ["x", "y"]}}}, "ss": {"SS": ["b", "a"]}, "ns": {"NS": ["2", "1.5"]}, "bs": {"BS": [b"\x01", b"\x02"]},
            "empty": {"S": ""}}
    client.put_item(TableName=name, Item=item)
    got = client.get_item(TableName=name, Key=key("types"))["Item"]
    assert {k: v for k, v in got.items() if k not in ("ss", "ns", "bs", "m")} == {k: v for k, v in item.items() if k not in ("ss", "ns", "bs", "m")}
    assert sorted(got["ss"]["SS"]) == ["a", "b"]
    assert sorted(got["ns"]["NS"], key=float) == ["1.5", "2"]
    assert sorted(got["bs"]["BS"]) == [b"\x01", b"\x02"]
    assert sorted(got["m"]["M"]["inner"]["SS"]) == ["x", "y"]


def test_numbers_come_back_normalized(items):
    client, name = items
    client.put_item(TableName=name, Item={**key("numbers"), "a": {"N": "1.50"}, "b": {"N": "1E+2"}, "c": {"N": "-0"}, "d": {"N": "0.000100"}})
    got = client.get_item(TableName=name, Key=key("numbers"))["Item"]
    assert [got[k]["N"] for k in "abcd"] == ["1.5", "100", "0", "0.0001"]


def test_get_of_a_missing_item_has_no_item(items):
    client, name = items
    assert "Item" not in client.get_item(TableName=name, Key=key("never"))


def test_projection_returns_only_the_named_paths(items):
    client, name = items
    client.put_item(TableName=name, Item={**key("projected"), "a": {"M": {"b": {"S": "x"}, "c": {"S": "y"}}}, "l": {"L": [{"N": "0"}, {"N": "1"}]}, "other": {"S": "no"}})
    got = client.get_item(TableName=name, Key=key("projected"), ProjectionExpression="a.b, l[1], #k", ExpressionAttributeNames={"#k": "pk"})["Item"]
    assert got == {"pk": {"S": "projected"}, "a": {"M": {"b": {"S": "x"}}}, "l": {"L": [{"N": "1"}]}}


def test_key_errors_are_dynamodbs(items):
    client, name = items
    error = error_of(lambda: client.get_item(TableName=name, Key={"pk": {"S": "a"}}))["Error"]
    assert error == {"Code": "ValidationException", "Message": "The provided key element does not match the schema"}
    error = error_of(lambda: client.put_item(TableName=name, Item={"pk": {"S": "a"}}))["Error"]
    assert error["Message"] == "One or more parameter values were invalid: Missing the key sk in the item"
    error = error_of(lambda: client.put_item(TableName=name, Item={"pk": {"N": "1"}, "sk": {"N": "1"}}))["Error"]
    assert error["Message"] == "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
    error = error_of(lambda: client.put_item(TableName=name, Item={"pk": {"S": ""}, "sk": {"N": "1"}}))["Error"]
    assert error["Message"] == "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"


def test_items_over_400_kb_are_refused(items):
    client, name = items
    error = error_of(lambda: client.put_item(TableName=name, Item={**key("huge"), "blob": {"B": b"x" * (400 * 1024)}}))["Error"]
    assert error == {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}
    client.put_item(TableName=name, Item={**key("large"), "blob": {"B": b"x" * (390 * 1024)}})
    assert len(client.get_item(TableName=name, Key=key("large"))["Item"]["blob"]["B"]) == 390 * 1024


def test_invalid_values_get_dynamodbs_messages(items):
    client, name = items
    error = error_of(lambda: client.put_item(TableName=name, Item={**key("bad"), "n": {"N": "abc"}}))["Error"]
    assert error["Message"] == "A value provided cannot be converted into a number"
    error = error_of(lambda: client.put_item(TableName=name, Item={**key("bad"), "n": {"N": "1" * 39}}))["Error"]
    assert error["Message"] == "Attempting to store more than 38 significant digits in a Number"
    error = error_of(lambda: client.put_item(TableName=name, Item={**key("bad"), "s": {"SS": ["a", "a"]}}))["Error"]
    assert error["Message"] == "One or more parameter values were invalid: Input collection [a, a] of type SS contains duplicates."


def test_put_returns_the_old_item_and_conditions_guard_it(items):
    client, name = items
    client.put_item(TableName=name, Item={**key("guarded"), "v": {"N": "1"}})
    old = client.put_item(TableName=name, Item={**key("guarded"), "v": {"N": "2"}}, ReturnValues="ALL_OLD")["Attributes"]
    assert old["v"] == {"N": "1"}
    response = error_of(lambda: client.put_item(TableName=name, Item={**key("guarded"), "v": {"N": "3"}},
                                                 ConditionExpression="attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD"))
    assert response["Error"] == {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}
    assert response["Item"]["v"] == {"N": "2"}
    client.put_item(TableName=name, Item={**key("guarded"), "v": {"N": "3"}}, ConditionExpression="v = :two", ExpressionAttributeValues={":two": {"N": "2"}})
    assert client.get_item(TableName=name, Key=key("guarded"))["Item"]["v"] == {"N": "3"}
    error = error_of(lambda: client.put_item(TableName=name, Item=key("guarded"), ReturnValues="ALL_NEW"))["Error"]
    assert error["Message"] == "Return values set to invalid value"


@pytest.mark.parametrize("condition, holds", [
    ("attribute_exists(a)", True), ("attribute_not_exists(a)", False), ("attribute_type(a, :S)", True), ("attribute_type(a, :N)", False),
    ("begins_with(a, :he)", True), ("begins_with(a, :lo)", False), ("contains(a, :lo)", True), ("contains(tags, :red)", True),
    ("contains(tags, :blue)", False), ("size(a) = :five", True), ("size(tags) > :five", False), ("n BETWEEN :one AND :five", True),
    ("n IN (:one, :five)", False), ("n > :one AND NOT (a = :lo OR n < :one)", True), ("missing <> :one", True), ("missing = :one", False),
    ("deep.inner[1] = :one", True), ("a < :lo", True),
])
def test_condition_expressions_decide_writes(items, condition, holds):
    client, name = items
    item_key = key("condition-" + str(abs(hash(condition))))
    client.put_item(TableName=name, Item={**item_key, "a": {"S": "hello"}, "n": {"N": "3"}, "tags": {"SS": ["red", "green"]},
                                          "deep": {"M": {"inner": {"L": [{"N": "0"}, {"N": "1"}]}}}})
    values = {":S": {"S": "S"}, ":N": {"S": "N"}, ":he": {"S": "he"}, ":lo": {"S": "lo"}, ":red": {"S": "red"}, ":blue": {"S": "blue"},
              ":five": {"N": "5"}, ":one": {"N": "1"}}
    used = {placeholder: value for placeholder, value in values.items() if placeholder in condition}
    arguments = {"TableName": name, "Key": item_key, "ConditionExpression": condition, "UpdateExpression": "SET touched = :t",
                 "ExpressionAttributeValues": {**used, ":t": {"BOOL": True}}}
    if holds:
        client.update_item(**arguments)
        assert client.get_item(TableName=name, Key=item_key)["Item"]["touched"] == {"BOOL": True}
    else:
        assert error_of(lambda: client.update_item(**arguments))["Error"]["Code"] == "ConditionalCheckFailedException"
        assert "touched" not in client.get_item(TableName=name, Key=item_key)["Item"]


def test_expression_errors_name_the_token_and_where_it_is(items):
    client, name = items
    error = error_of(lambda: client.put_item(TableName=name, Item=key("syntax"), ConditionExpression="a = AND b",))["Error"]
    assert error == {"Code": "ValidationException", "Message": 'Invalid ConditionExpression: Syntax error; token: "AND", near: "= AND b"'}
    error = error_of(lambda: client.put_item(TableName=name, Item=key("syntax"), ConditionExpression="a = :v"))["Error"]
    assert error["Message"] == "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v"
    error = error_of(lambda: client.put_item(TableName=name, Item=key("syntax"), ConditionExpression="attribute_exists(a)",
                                             ExpressionAttributeValues={":unused": {"N": "1"}}))["Error"]
    assert error["Message"] == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"
    error = error_of(lambda: client.update_item(TableName=name, Key=key("syntax"), UpdateExpression="SET a = :v SET b = :v",
                                                ExpressionAttributeValues={":v": {"N": "1"}}))["Error"]
    assert error["Message"] == 'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'
    error = error_of(lambda: client.update_item(TableName=name, Key=key("syntax"), UpdateExpression="SET pk = :v", ExpressionAttributeValues={":v": {"S": "x"}}))["Error"]
    assert error["Message"] == "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"


def test_update_expressions_set_remove_add_and_delete(items):
    client, name = items
    item_key = key("updated")
    client.put_item(TableName=name, Item={**item_key, "count": {"N": "10"}, "list": {"L": [{"S": "a"}]}, "gone": {"S": "x"},
                                          "tags": {"SS": ["a", "b"]}, "colors": {"SS": ["a", "b"]}, "map": {"M": {"x": {"N": "1"}}}})
    new = client.update_item(TableName=name, Key=item_key, ReturnValues="ALL_NEW",
                             UpdateExpression="SET #c = #c - :two, list = list_append(list, :more), fresh = if_not_exists(fresh, :zero), map.y = :two "
                                              "REMOVE gone ADD visits :one, tags :c DELETE colors :a",
                             ExpressionAttributeNames={"#c": "count"},
                             ExpressionAttributeValues={":two": {"N": "2"}, ":more": {"L": [{"S": "b"}]}, ":zero": {"N": "0"}, ":one": {"N": "1"},
                                                        ":c": {"SS": ["c"]}, ":a": {"SS": ["a"]}})["Attributes"]
    assert new["count"] == {"N": "8"}
    assert new["list"] == {"L": [{"S": "a"}, {"S": "b"}]}
    assert new["fresh"] == {"N": "0"}
    assert new["map"] == {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}
    assert "gone" not in new
    assert new["visits"] == {"N": "1"}
    assert sorted(new["tags"]["SS"]) == ["a", "b", "c"]
    assert new["colors"] == {"SS": ["b"]}


def test_update_returns_what_it_is_asked_for(items):
    client, name = items
    item_key = key("returned")
    client.put_item(TableName=name, Item={**item_key, "a": {"N": "1"}, "b": {"N": "1"}})
    arguments = {"TableName": name, "Key": item_key, "UpdateExpression": "SET a = a + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}
    assert client.update_item(**arguments, ReturnValues="UPDATED_OLD")["Attributes"] == {"a": {"N": "1"}}
    assert client.update_item(**arguments, ReturnValues="UPDATED_NEW")["Attributes"] == {"a": {"N": "3"}}
    assert client.update_item(**arguments, ReturnValues="ALL_OLD")["Attributes"] == {**item_key, "a": {"N": "3"}, "b": {"N": "1"}}
    assert "Attributes" not in client.update_item(**arguments)


def test_update_of_a_missing_item_creates_it_and_arithmetic_on_missing_attributes_fails(items):
    client, name = items
    item_key = key("created-by-update")
    client.update_item(TableName=name, Key=item_key, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
    assert client.get_item(TableName=name, Key=item_key)["Item"] == {**item_key, "n": {"N": "1"}}
    error = error_of(lambda: client.update_item(TableName=name, Key=key("other"), UpdateExpression="SET n = n + :one",
                                                ExpressionAttributeValues={":one": {"N": "1"}}))["Error"]
    assert error["Message"] == "The provided expression refers to an attribute that does not exist in the item"


def test_concurrent_increments_in_one_region_lose_nothing(items):
    """Every UpdateItem reads, computes and writes with If-Match on what it read: increments
    racing in one region are all counted."""
    import concurrent.futures
    client, name = items
    item_key = key("counter")
    client.put_item(TableName=name, Item={**item_key, "n": {"N": "0"}})

    def increment(_):
        client.update_item(TableName=name, Key=item_key, UpdateExpression="SET n = n + :one", ExpressionAttributeValues={":one": {"N": "1"}})

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(increment, range(40)))
    assert client.get_item(TableName=name, Key=item_key)["Item"]["n"] == {"N": "40"}


def test_delete_returns_the_old_item_checks_its_condition_and_ignores_missing_items(items):
    client, name = items
    item_key = key("deleted")
    client.put_item(TableName=name, Item={**item_key, "v": {"N": "1"}})
    assert error_of(lambda: client.delete_item(TableName=name, Key=item_key, ConditionExpression="v = :two",
                                               ExpressionAttributeValues={":two": {"N": "2"}}))["Error"]["Code"] == "ConditionalCheckFailedException"
    old = client.delete_item(TableName=name, Key=item_key, ReturnValues="ALL_OLD")["Attributes"]
    assert old["v"] == {"N": "1"}
    assert "Item" not in client.get_item(TableName=name, Key=item_key)
    assert "Attributes" not in client.delete_item(TableName=name, Key=item_key, ReturnValues="ALL_OLD")


def test_items_written_through_either_api_read_through_the_other(cluster, items):
    client, name = items
    table = name.lower()
    client.put_item(TableName=name, Item={"pk": {"S": "both/ways"}, "sk": {"N": "7"}, "city": {"S": "Pune"}, "visits": {"N": "3"},
                                          "bytes": {"B": b"\x01"}, "tags": {"SS": ["a"]}})
    status, body = cluster.native("GET", "us-east", f"/v1/tables/{table}/items?prefix=both%252Fways/")
    assert status == 200, body
    [row] = json.loads(body)["items"]
    assert row["key"] == "both%2Fways/25017", "the number 7 as its order-preserving key text (docs/dynamodb.md)"
    assert row["value"] == {"pk": "both/ways", "sk": 7, "city": "Pune", "visits": 3, "bytes": {"$B": "AQ=="}, "tags": {"$SS": ["a"]}}
    status, body = cluster.native("PUT", "us-east", f"/v1/tables/{table}/items/plain/25012", json.dumps({"name": "Alex", "score": 9.5, "list": [1, "x"], "nested": {"ok": True}}))
    assert status == 200, body
    got = client.get_item(TableName=name, Key=key("plain", 2))["Item"]
    assert got == {"pk": {"S": "plain"}, "sk": {"N": "2"}, "name": {"S": "Alex"}, "score": {"N": "9.5"}, "list": {"L": [{"N": "1"}, {"S": "x"}]},
                   "nested": {"M": {"ok": {"BOOL": True}}}}
