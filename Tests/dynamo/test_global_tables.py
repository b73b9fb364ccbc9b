"""Global tables: every region takes writes; writes replicate; concurrent writes resolve
the same everywhere (last writer wins); strong tables read consistently from anywhere."""

import concurrent.futures

from conftest import REGIONS, create_table, unique, wait_until


def test_a_write_through_eu_west_reads_through_ap_south_after_replication(cluster, table_in_every_region):
    name = table_in_every_region("global")
    cluster.client("eu-west").put_item(TableName=name, Item={"pk": {"S": "alex"}, "city": {"S": "Mumbai"}})
    south = cluster.client("ap-south")
    item = wait_until(lambda: south.get_item(TableName=name, Key={"pk": {"S": "alex"}}).get("Item"))
    assert item == {"pk": {"S": "alex"}, "city": {"S": "Mumbai"}}
    response = south.get_item(TableName=name, Key={"pk": {"S": "alex"}}, ConsistentRead=True)
    assert response["ResponseMetadata"]["HTTPHeaders"]["meridian-consistency"] == "region"
    assert response["ResponseMetadata"]["HTTPHeaders"]["meridian-region"] == "ap-south"


def test_concurrent_writes_resolve_the_same_in_every_region(cluster, table_in_every_region):
    name = table_in_every_region("racing")
    clients = {region: cluster.client(region) for region in REGIONS}
    keys = [f"k{index}" for index in range(6)]

    def write(region):
        for key in keys:
            clients[region].put_item(TableName=name, Item={"pk": {"S": key}, "writer": {"S": region}})

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(write, REGIONS))

    def views():
        return [tuple(clients[region].get_item(TableName=name, Key={"pk": {"S": key}}).get("Item", {}).get("writer", {}).get("S") for key in keys)
                for region in REGIONS]

    agreed = wait_until(lambda: (lambda seen: seen if len(set(seen)) == 1 else None)(views()))
    assert agreed, f"regions did not converge: {views()}"
    assert all(writer in REGIONS for writer in agreed[0])
    # Queries and scans in every region see the same items too.
    scans = [sorted((item["pk"]["S"], item["writer"]["S"]) for item in clients[region].scan(TableName=name, ConsistentRead=True)["Items"]) for region in REGIONS]
    assert scans[0] == scans[1] == scans[2]


def test_conditional_writes_are_decided_in_the_region_that_takes_them(cluster, table_in_every_region):
    name = table_in_every_region("conditional")
    east, south = cluster.client("us-east"), cluster.client("ap-south")
    east.put_item(TableName=name, Item={"pk": {"S": "doc"}, "rev": {"N": "1"}})
    assert wait_until(lambda: "Item" in south.get_item(TableName=name, Key={"pk": {"S": "doc"}}))
    south.update_item(TableName=name, Key={"pk": {"S": "doc"}}, UpdateExpression="SET rev = :two", ConditionExpression="rev = :one",
                      ExpressionAttributeValues={":one": {"N": "1"}, ":two": {"N": "2"}})
    assert wait_until(lambda: east.get_item(TableName=name, Key={"pk": {"S": "doc"}})["Item"]["rev"] == {"N": "2"})


def test_a_strong_table_is_linearizable_from_every_region(cluster):
    name = unique("strong")
    create_table(cluster.client("us-east"), name, tags={"meridian:mode": "strong"})
    clients = {region: cluster.client(region) for region in REGIONS}

    def put(region, value):
        try:
            clients[region].put_item(TableName=name, Item={"pk": {"S": "x"}, "v": {"N": str(value)}})
            return True
        except clients[region].exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("ServiceUnavailable", "InternalServerError"):
                return False
            raise

    assert wait_until(lambda: put("us-east", 0))
    for value, region in enumerate(REGIONS * 2, start=1):
        assert put(region, value)
        for reader in REGIONS:
            response = clients[reader].get_item(TableName=name, Key={"pk": {"S": "x"}}, ConsistentRead=True)
            assert response["Item"]["v"] == {"N": str(value)}, f"{reader} read a stale value after {region} wrote {value}"
            assert response["ResponseMetadata"]["HTTPHeaders"]["meridian-consistency"] == "strong"
