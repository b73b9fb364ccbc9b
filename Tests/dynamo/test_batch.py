"""BatchGetItem and BatchWriteItem: limits, duplicates, projections, UnprocessedKeys."""

import botocore.exceptions
import pytest

from conftest import create_table, unique


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]


@pytest.fixture(scope="module")
def tables(cluster):
    client = cluster.client("ap-south")
    first, second = unique("batch-a"), unique("batch-b")
    create_table(client, first)
    create_table(client, second, hash_key=("id", "N"))
    return client, first, second


def test_batch_write_puts_and_deletes_across_tables_and_batch_get_reads_them(tables):
    client, first, second = tables
    writes = {first: [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "v": {"N": str(i)}}}} for i in range(15)],
              second: [{"PutRequest": {"Item": {"id": {"N": str(i)}, "v": {"S": "x"}}}} for i in range(10)]}
    assert client.batch_write_item(RequestItems=writes)["UnprocessedItems"] == {}
    client.batch_write_item(RequestItems={first: [{"DeleteRequest": {"Key": {"pk": {"S": "k0"}}}}, {"DeleteRequest": {"Key": {"pk": {"S": "absent"}}}}]})
    response = client.batch_get_item(RequestItems={
        first: {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(15)], "ProjectionExpression": "v"},
        second: {"Keys": [{"id": {"N": str(i)}} for i in range(12)], "ConsistentRead": True},
    })
    assert response["UnprocessedKeys"] == {}
    assert sorted(int(item["v"]["N"]) for item in response["Responses"][first]) == list(range(1, 15))
    assert all(set(item) == {"v"} for item in response["Responses"][first])
    assert len(response["Responses"][second]) == 10


def test_batches_are_bounded_and_refuse_duplicates(tables):
    client, first, _ = tables
    error = error_of(lambda: client.batch_write_item(RequestItems={first: [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(26)]}))
    assert error == {"Code": "ValidationException", "Message": "Too many items requested for the BatchWriteItem call"}
    error = error_of(lambda: client.batch_get_item(RequestItems={first: {"Keys": [{"pk": {"S": str(i)}} for i in range(101)]}}))
    assert error["Message"] == "Too many items requested for the BatchGetItem call"
    error = error_of(lambda: client.batch_write_item(RequestItems={first: [{"PutRequest": {"Item": {"pk": {"S": "d"}}}}, {"DeleteRequest": {"Key": {"pk": {"S": "d"}}}}]}))
    assert error["Message"] == "Provided list of item keys contains duplicates"
    error = error_of(lambda: client.batch_get_item(RequestItems={first: {"Keys": [{"pk": {"S": "d"}}, {"pk": {"S": "d"}}]}}))
    assert error["Message"] == "Provided list of item keys contains duplicates"
    error = error_of(lambda: client.batch_get_item(RequestItems={unique("missing"): {"Keys": [{"pk": {"S": "d"}}]}}))
    assert error["Code"] == "ResourceNotFoundException"


def test_a_batch_for_a_table_stored_elsewhere_is_served_there(cluster):
    client = cluster.client("us-east")
    name = unique("elsewhere")
    create_table(client, name, tags={"meridian:regions": "ap-south"})
    writes = [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(5)]
    response = client.batch_write_item(RequestItems={name: writes})
    assert response["UnprocessedItems"] == {}
    assert response["ResponseMetadata"]["HTTPHeaders"]["meridian-forwarded-by"] == "us-east"
    got = client.batch_get_item(RequestItems={name: {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(5)]}})
    assert len(got["Responses"][name]) == 5
