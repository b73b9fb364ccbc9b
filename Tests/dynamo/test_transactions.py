"""TransactWriteItems and TransactGetItems on strong tables; refused elsewhere."""

import concurrent.futures

import botocore.exceptions
import pytest

from conftest import create_table, unique, wait_until


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response


@pytest.fixture(scope="module")
def bank(cluster):
    client = cluster.client("us-east")
    name = unique("bank")
    create_table(client, name, hash_key=("id", "S"), tags={"meridian:mode": "strong"})
    # A strong table takes writes once its Raft group has a leader.
    assert wait_until(lambda: _put(client, name, "alice", 100))
    _put(client, name, "bob", 0)
    return name


def _put(client, name, account, balance):
    try:
        client.put_item(TableName=name, Item={"id": {"S": account}, "balance": {"N": str(balance)}})
        return True
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("ServiceUnavailable", "InternalServerError"):
            return False
        raise


def transfer(client, name, amount, source="alice", target="bob"):
    client.transact_write_items(TransactItems=[
        {"Update": {"TableName": name, "Key": {"id": {"S": source}}, "UpdateExpression": "SET balance = balance - :x",
                    "ConditionExpression": "balance >= :x", "ExpressionAttributeValues": {":x": {"N": str(amount)}}}},
        {"Update": {"TableName": name, "Key": {"id": {"S": target}}, "UpdateExpression": "SET balance = balance + :x",
                    "ExpressionAttributeValues": {":x": {"N": str(amount)}}}},
    ])


def balances(client, name):
    responses = client.transact_get_items(TransactItems=[{"Get": {"TableName": name, "Key": {"id": {"S": who}}}} for who in ("alice", "bob")])["Responses"]
    return [int(response["Item"]["balance"]["N"]) for response in responses]


def test_a_transfer_applies_both_updates_from_any_region(cluster, bank):
    before = sum(balances(cluster.client("us-east"), bank))
    transfer(cluster.client("ap-south"), bank, 10)
    assert sum(balances(cluster.client("eu-west"), bank)) == before


def test_a_failed_condition_cancels_every_action_and_says_which(cluster, bank):
    client = cluster.client("eu-west")
    before = balances(client, bank)
    response = error_of(lambda: transfer(client, bank, 10_000))
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["Error"]["Message"] == "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]"
    assert [reason["Code"] for reason in response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
    assert balances(client, bank) == before


def test_concurrent_transfers_from_every_region_keep_the_total(cluster, bank):
    clients = [cluster.client(region) for region in ("us-east", "eu-west", "ap-south")]
    total = sum(balances(clients[0], bank))

    def move(index):
        try:
            transfer(clients[index % 3], bank, 1, *(("alice", "bob") if index % 2 else ("bob", "alice")))
        except botocore.exceptions.ClientError as error:
            # Contention or a balance at zero: the transfer did nothing, which is allowed.
            assert error.response["Error"]["Code"] in ("TransactionCanceledException", "TransactionConflictException")

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(move, range(24)))
    assert sum(balances(clients[1], bank)) == total


def test_condition_checks_puts_and_deletes_in_one_transaction(cluster, bank):
    client = cluster.client("us-east")
    client.transact_write_items(TransactItems=[
        {"ConditionCheck": {"TableName": bank, "Key": {"id": {"S": "alice"}}, "ConditionExpression": "attribute_exists(id)"}},
        {"Put": {"TableName": bank, "Item": {"id": {"S": "carol"}, "balance": {"N": "5"}}, "ConditionExpression": "attribute_not_exists(id)"}},
        {"Delete": {"TableName": bank, "Key": {"id": {"S": "nobody"}}}},
    ])
    got = client.transact_get_items(TransactItems=[{"Get": {"TableName": bank, "Key": {"id": {"S": "carol"}}, "ProjectionExpression": "balance"}},
                                                   {"Get": {"TableName": bank, "Key": {"id": {"S": "nobody"}}}}])["Responses"]
    assert got == [{"Item": {"balance": {"N": "5"}}}, {}]
    response = error_of(lambda: client.transact_write_items(TransactItems=[
        {"Put": {"TableName": bank, "Item": {"id": {"S": "carol"}}}}, {"Delete": {"TableName": bank, "Key": {"id": {"S": "carol"}}}}]))
    assert response["Error"]["Message"] == "Transaction request cannot include multiple operations on one item"


def test_transactions_on_other_modes_and_across_tables_are_refused(cluster, bank):
    client = cluster.client("us-east")
    loose = unique("loose")
    create_table(client, loose)
    response = error_of(lambda: client.transact_write_items(TransactItems=[{"Put": {"TableName": loose, "Item": {"pk": {"S": "a"}}}}]))
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"].startswith(f"TransactWriteItems needs a strong table: {loose} is multi-primary")
    response = error_of(lambda: client.transact_get_items(TransactItems=[{"Get": {"TableName": bank, "Key": {"id": {"S": "alice"}}}},
                                                                          {"Get": {"TableName": loose, "Key": {"pk": {"S": "a"}}}}]))
    assert response["Error"]["Message"].startswith("Meridian does not support TransactGetItems across tables")
