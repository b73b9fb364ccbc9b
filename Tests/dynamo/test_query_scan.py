"""Query and Scan: DynamoDB's key order (numbers numerically, binaries bytewise), both
directions, paging with Limit and ExclusiveStartKey, filters, projections, COUNT, and
parallel scan segments."""

import random

import botocore.exceptions
import pytest

from conftest import create_table, unique

NUMBERS = ["-1E+100", "-100", "-10.5", "-10", "-1", "-0.5", "-0.05", "0", "1E-100", "0.05", "0.5", "1", "1.5", "2", "9.99", "10", "100", "1E+100"]


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]


@pytest.fixture(scope="module")
def numbers(cluster):
    client = cluster.client("eu-west")
    name = unique("numbers")
    create_table(client, name, hash_key=("pk", "S"), range_key=("n", "N"))
    shuffled = NUMBERS[:]
    random.Random(7).shuffle(shuffled)
    for value in shuffled:
        client.put_item(TableName=name, Item={"pk": {"S": "p"}, "n": {"N": value}, "odd": {"BOOL": NUMBERS.index(value) % 2 == 1}, "pad": {"S": "x" * 10}})
        client.put_item(TableName=name, Item={"pk": {"S": "other"}, "n": {"N": value}})
    return client, name


def normalized(value):
    # DynamoDB prints numbers without exponents.
    from decimal import Decimal
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def query_all(client, **arguments):
    items, pages = [], 0
    while True:
        page = client.query(**arguments)
        items += page["Items"]
        pages += 1
        if "LastEvaluatedKey" not in page:
            return items, pages
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_query_returns_one_hash_values_items_in_numeric_order_both_ways(numbers):
    client, name = numbers
    arguments = {"TableName": name, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}}
    forward, _ = query_all(client, **arguments)
    assert [item["n"]["N"] for item in forward] == [normalized(value) for value in NUMBERS]
    backward, _ = query_all(client, **arguments, ScanIndexForward=False)
    assert backward == list(reversed(forward))


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_limit_pages_visit_every_item_exactly_once_in_both_directions(numbers, limit):
    client, name = numbers
    for forward in (True, False):
        items, pages = query_all(client, TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                                 Limit=limit, ScanIndexForward=forward)
        expected = [normalized(value) for value in NUMBERS]
        assert [item["n"]["N"] for item in items] == (expected if forward else expected[::-1])
        assert pages >= len(NUMBERS) // limit


@pytest.mark.parametrize("condition, values, expected", [
    ("n < :a", {":a": "0"}, NUMBERS[:7]),
    ("n <= :a", {":a": "0"}, NUMBERS[:8]),
    ("n > :a", {":a": "1"}, NUMBERS[12:]),
    ("n >= :a", {":a": "1"}, NUMBERS[11:]),
    ("n = :a", {":a": "1.50"}, ["1.5"]),
    ("n BETWEEN :a AND :b", {":a": "-1", ":b": "1"}, NUMBERS[4:12]),
])
def test_sort_key_conditions_select_the_right_range(numbers, condition, values, expected):
    client, name = numbers
    attribute_values = {":p": {"S": "p"}, **{placeholder: {"N": value} for placeholder, value in values.items()}}
    for forward in (True, False):
        items, _ = query_all(client, TableName=name, KeyConditionExpression=f"pk = :p AND {condition}", ExpressionAttributeValues=attribute_values,
                             Limit=2, ScanIndexForward=forward)
        want = [normalized(value) for value in expected]
        assert [item["n"]["N"] for item in items] == (want if forward else want[::-1])


def test_filters_apply_after_the_limit_and_count_what_they_kept(numbers):
    client, name = numbers
    page = client.query(TableName=name, KeyConditionExpression="pk = :p", FilterExpression="odd = :t",
                        ExpressionAttributeValues={":p": {"S": "p"}, ":t": {"BOOL": True}}, Limit=6)
    assert page["ScannedCount"] == 6
    assert page["Count"] == 3
    assert all(item["odd"] == {"BOOL": True} for item in page["Items"])
    counted = client.query(TableName=name, KeyConditionExpression="pk = :p", Select="COUNT", ExpressionAttributeValues={":p": {"S": "p"}})
    assert counted["Count"] == len(NUMBERS) and "Items" not in counted
    projected = client.query(TableName=name, KeyConditionExpression="pk = :p", ProjectionExpression="n", ExpressionAttributeValues={":p": {"S": "p"}}, Limit=2)
    assert all(set(item) == {"n"} for item in projected["Items"])


def test_query_errors_are_dynamodbs(numbers):
    client, name = numbers
    error = error_of(lambda: client.query(TableName=name, KeyConditionExpression="n = :n", ExpressionAttributeValues={":n": {"N": "1"}}))
    assert error == {"Code": "ValidationException", "Message": "Query condition missed key schema element: pk"}
    error = error_of(lambda: client.query(TableName=name, KeyConditionExpression="pk = :p OR n = :n", ExpressionAttributeValues={":p": {"S": "p"}, ":n": {"N": "1"}}))
    assert error["Message"] == "Query key condition not supported"
    error = error_of(lambda: client.query(TableName=name, KeyConditionExpression="pk = :p", FilterExpression="n > :n",
                                          ExpressionAttributeValues={":p": {"S": "p"}, ":n": {"N": "1"}}))
    assert error["Message"] == "Filter Expression can only contain non-primary key attributes: Primary key attribute: n"
    error = error_of(lambda: client.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"N": "1"}}))
    assert error["Message"] == "One or more parameter values were invalid: Condition parameter type does not match schema type"
    error = error_of(lambda: client.query(TableName=name, IndexName="byOther", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}))
    assert error["Message"].startswith("Meridian does not support secondary indexes")


def test_binary_and_string_sort_keys_order_bytewise(cluster):
    client = cluster.client()
    name = unique("bytes")
    create_table(client, name, hash_key=("pk", "B"), range_key=("sk", "B"))
    values = [b"\x00", b"\x00\x00", b"\x01", b"\x7f", b"\x80", b"\x80\x00", b"\xfe", b"\xff", b"\xff\xff"]
    for value in reversed(values):
        client.put_item(TableName=name, Item={"pk": {"B": b"/%"}, "sk": {"B": value}})
    items, _ = query_all(client, TableName=name, KeyConditionExpression="pk = :p AND begins_with(sk, :z)",
                         ExpressionAttributeValues={":p": {"B": b"/%"}, ":z": {"B": b"\x80"}})
    assert [item["sk"]["B"] for item in items] == [b"\x80", b"\x80\x00"]
    items, _ = query_all(client, TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"B": b"/%"}}, Limit=4)
    assert [item["sk"]["B"] for item in items] == values
    strings = unique("strings")
    create_table(client, strings, hash_key=("pk", "S"), range_key=("sk", "S"))
    words = ["A", "B", "a", "a/b", "aa", "b", "é", "\U0001F30D"]
    for word in words:
        client.put_item(TableName=strings, Item={"pk": {"S": "p/q%"}, "sk": {"S": word}})
    items, _ = query_all(client, TableName=strings, KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
                         ExpressionAttributeValues={":p": {"S": "p/q%"}, ":a": {"S": "a"}})
    assert [item["sk"]["S"] for item in items] == ["a", "a/b", "aa"]


def test_a_paginated_scan_returns_every_item_once(numbers):
    client, name = numbers
    seen = []
    for page in client.get_paginator("scan").paginate(TableName=name, PaginationConfig={"PageSize": 5}):
        seen += [(item["pk"]["S"], item["n"]["N"]) for item in page["Items"]]
    assert sorted(seen) == sorted([(pk, normalized(value)) for pk in ("p", "other") for value in NUMBERS])
    assert len(seen) == len(set(seen))


def test_parallel_scan_segments_partition_the_table(numbers):
    client, name = numbers
    total = 4
    segments = []
    for segment in range(total):
        items = []
        for page in client.get_paginator("scan").paginate(TableName=name, Segment=segment, TotalSegments=total, PaginationConfig={"PageSize": 3}):
            items += [(item["pk"]["S"], item["n"]["N"]) for item in page["Items"]]
        segments.append(items)
    every = [item for items in segments for item in items]
    assert len(every) == len(set(every)) == 2 * len(NUMBERS)
    # One hash value's items stay in one segment.
    for pk in ("p", "other"):
        assert sum(1 for items in segments if any(item_pk == pk for item_pk, _ in items)) == 1
    error = error_of(lambda: client.scan(TableName=name, Segment=4, TotalSegments=4))
    assert error["Message"] == "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 4 is not less than TotalSegments: 4"


def test_scan_filters_and_counts(numbers):
    client, name = numbers
    page = client.scan(TableName=name, FilterExpression="attribute_exists(odd) AND odd = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
    assert page["Count"] == len(NUMBERS) // 2
    assert page["ScannedCount"] == 2 * len(NUMBERS)
    assert "LastEvaluatedKey" not in page


def test_a_query_of_a_table_without_sort_key_selects_one_item_and_refuses_an_empty_key(cluster):
    client = cluster.client()
    name = unique("hash-only")
    create_table(client, name)
    for pk in ("a", "ab", "abc"):
        client.put_item(TableName=name, Item={"pk": {"S": pk}})
    found = client.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "ab"}})
    assert [item["pk"]["S"] for item in found["Items"]] == ["ab"]
    error = error_of(lambda: client.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": ""}}))
    assert error["Message"] == "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
    # The region is still up.
    assert client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
