"""CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable and their errors."""

import botocore.exceptions
import pytest

from conftest import REGIONS, create_table, unique, wait_until


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]


def test_create_describe_and_delete_a_table_with_hash_and_range_keys(cluster):
    client = cluster.client()
    name = unique("Music.Albums")
    created = create_table(client, name, hash_key=("Artist", "S"), range_key=("Year", "N"))
    assert created["TableStatus"] == "ACTIVE"
    assert created["KeySchema"] == [{"AttributeName": "Artist", "KeyType": "HASH"}, {"AttributeName": "Year", "KeyType": "RANGE"}]
    described = client.describe_table(TableName=name)["Table"]
    assert described["TableName"] == name
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted(replica["RegionName"] for replica in described["Replicas"]) == sorted(REGIONS)
    assert described["GlobalTableVersion"] == "2019.11.21"
    deleting = client.delete_table(TableName=name)["TableDescription"]
    assert deleting["TableStatus"] == "DELETING"
    assert error_of(lambda: client.describe_table(TableName=name))["Code"] == "ResourceNotFoundException"


def test_the_waiter_sees_a_new_table_in_every_region(cluster):
    name = unique("waited")
    create_table(cluster.client("us-east"), name)
    for region in REGIONS:
        cluster.client(region).get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 15})


def test_creating_an_existing_table_is_resource_in_use(cluster):
    client = cluster.client()
    name = unique("dupe")
    create_table(client, name)
    error = error_of(lambda: create_table(client, name))
    assert error["Code"] == "ResourceInUseException"
    assert error["Message"] == f"Table already exists: {name}"


def test_names_differing_only_in_case_share_a_meridian_table_and_the_second_is_refused(cluster):
    client = cluster.client()
    name = unique("Case")
    create_table(client, name)
    error = error_of(lambda: create_table(client, name.lower()))
    assert error["Code"] == "ResourceInUseException"
    assert name in error["Message"]
    assert error_of(lambda: client.describe_table(TableName=name.lower()))["Code"] == "ResourceNotFoundException"


def test_missing_tables_are_resource_not_found_for_every_operation(cluster):
    client = cluster.client()
    name = unique("missing")
    for call in [lambda: client.describe_table(TableName=name), lambda: client.delete_table(TableName=name),
                 lambda: client.get_item(TableName=name, Key={"pk": {"S": "a"}}),
                 lambda: client.put_item(TableName=name, Item={"pk": {"S": "a"}}),
                 lambda: client.scan(TableName=name)]:
        error = error_of(call)
        assert error["Code"] == "ResourceNotFoundException"
        assert error["Message"] == f"Requested resource not found: Table: {name} not found"


def test_invalid_key_schemas_get_dynamodbs_validation_messages(cluster):
    client = cluster.client()
    error = error_of(lambda: client.create_table(TableName=unique("bad"), BillingMode="PAY_PER_REQUEST",
                                                 AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                                                 KeySchema=[{"AttributeName": "a", "KeyType": "RANGE"}]))
    assert error == {"Code": "ValidationException", "Message": "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"}
    error = error_of(lambda: client.create_table(TableName=unique("bad"), BillingMode="PAY_PER_REQUEST",
                                                 AttributeDefinitions=[{"AttributeName": "b", "AttributeType": "S"}],
                                                 KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}]))
    assert error["Message"] == "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [a], AttributeDefinitions: [b]"
    error = error_of(lambda: client.create_table(TableName=unique("bad"), AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                                                 KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}]))
    assert error["Message"] == "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"


def test_provisioned_tables_are_accepted_and_report_their_billing_mode(cluster):
    client = cluster.client()
    name = unique("provisioned")
    client.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "B"}],
                        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}], ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    assert client.describe_table(TableName=name)["Table"]["BillingModeSummary"]["BillingMode"] == "PROVISIONED"


def test_left_out_features_are_refused_clearly(cluster):
    client = cluster.client()
    base = {"TableName": unique("gsi"), "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}]}
    gsi = [{"IndexName": "byOther", "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]
    error = error_of(lambda: client.create_table(**base, GlobalSecondaryIndexes=gsi))
    assert error["Code"] == "ValidationException" and error["Message"].startswith("Meridian does not support global secondary indexes")
    error = error_of(lambda: client.create_table(**base, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}))
    assert error["Message"].startswith("Meridian does not support DynamoDB Streams")
    error = error_of(lambda: client.update_time_to_live(TableName="x12", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}))
    assert error["Message"].startswith("Meridian does not support UpdateTimeToLive (time to live (TTL))")
    error = error_of(lambda: client.execute_statement(Statement="SELECT * FROM x"))
    assert error["Message"].startswith("Meridian does not support ExecuteStatement (PartiQL)")


def test_list_tables_pages_through_every_name(cluster):
    client = cluster.client()
    names = sorted(unique("listed") for _ in range(5))
    for name in names:
        create_table(client, name)
    seen = []
    arguments = {"Limit": 2}
    while True:
        page = client.list_tables(**arguments)
        assert len(page["TableNames"]) <= 2
        seen += page["TableNames"]
        if "LastEvaluatedTableName" not in page:
            break
        arguments["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
    assert [name for name in seen if name in names] == names
    assert seen == sorted(seen)
    paginated = [name for page in client.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 3}) for name in page["TableNames"]]
    assert paginated == seen


def test_update_table_moves_replicas_and_describe_lists_them(cluster, table_in_every_region):
    client = cluster.client()
    name = table_in_every_region("replicas")
    updated = client.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": "ap-south"}}])["TableDescription"]
    assert sorted(replica["RegionName"] for replica in updated["Replicas"]) == ["eu-west", "us-east"]
    client.put_item(TableName=name, Item={"pk": {"S": "kept"}})
    # ap-south holds none of it now, and forwards a request for it to a region that does.
    south = cluster.client("ap-south")
    assert wait_until(lambda: "Item" in south.get_item(TableName=name, Key={"pk": {"S": "kept"}}))
    response = south.get_item(TableName=name, Key={"pk": {"S": "kept"}})
    assert response["ResponseMetadata"]["HTTPHeaders"]["meridian-forwarded-by"] == "ap-south"
    again = client.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "ap-south"}}])["TableDescription"]
    assert sorted(replica["RegionName"] for replica in again["Replicas"]) == sorted(REGIONS)
    error = error_of(lambda: client.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "mars-north"}}]))
    assert error["Code"] == "ValidationException"


def test_meridian_tags_choose_mode_and_regions(cluster):
    client = cluster.client()
    name = unique("tagged")
    create_table(client, name, tags={"meridian:mode": "strong"})
    assert client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    two = unique("two")
    described = create_table(client, two, tags={"meridian:regions": "us-east,eu-west", "meridian:conflict": "merge"})
    assert sorted(replica["RegionName"] for replica in described["Replicas"]) == ["eu-west", "us-east"]
    error = error_of(lambda: create_table(client, unique("bad"), tags={"meridian:mode": "strong", "meridian:regions": "us-east,eu-west"}))
    assert error["Code"] == "ValidationException" and "over two regions" in error["Message"]
    error = error_of(lambda: create_table(client, unique("bad"), tags={"team": "data"}))
    assert error["Message"].startswith("Meridian does not support the tag 'team'")
