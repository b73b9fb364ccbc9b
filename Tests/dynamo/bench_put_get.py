"""PutItem and GetItem through boto3 next to the same writes and reads through the native
API, on one region of a running `meridian dev` (docs/dynamodb.md has results).

    python3 Tests/dynamo/bench_put_get.py --data ./meridian-data --endpoint http://127.0.0.1:7001 --seconds 10 --clients 1,8

Both sides write the same JSON (a string key and a 100-byte string) into one table of
hash key `pk`; the native side addresses it by the same key (a table without a sort key
keeps its string keys as they are). Load is closed-loop: each client is a process with
one request in flight, on a kept-alive connection (boto3's own pool, http.client for the
native API). Reported: operations per second, and latency p50 and p99 in milliseconds, of
the operations that started and ended inside the measured window (after a one-second
warm-up). Then the server's own share: one signed DynamoDB request of each kind captured
from boto3 and replayed with http.client (a signature stays valid for 15 minutes), next
to native requests, one client, `--replays` times each. Nothing is asserted: it is a
measurement, not a test.
"""

import argparse
import http.client
import json
import multiprocessing
import re
import time
import urllib.parse
import uuid

import boto3
import botocore.config

PAYLOAD = "x" * 100
# Each client cycles over this many keys; reads find every one written beforehand.
KEYS_PER_CLIENT = 100
WARMUP_SECONDS = 1.0


def credentials(data):
    text = open(f"{data}/aws-credentials").read()
    return re.search(r"aws_access_key_id = (\S+)", text).group(1), re.search(r"aws_secret_access_key = (\S+)", text).group(1)


def boto3_client(endpoint, data):
    access_key, secret = credentials(data)
    config = botocore.config.Config(retries={"max_attempts": 1}, max_pool_connections=1)
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east", aws_access_key_id=access_key, aws_secret_access_key=secret, config=config)


def run_client(kind, operation, endpoint, data, table, client_index, seconds, results):
    """One closed-loop client: returns the latencies (seconds) of its measured operations."""
    token = open(f"{data}/token").read().strip()
    start = time.monotonic()
    window = (start + WARMUP_SECONDS, start + WARMUP_SECONDS + seconds)
    latencies = []
    sequence = 0
    if kind == "boto3":
        client = boto3_client(endpoint, data)

        def once(key):
            if operation == "put":
                client.put_item(TableName=table, Item={"pk": {"S": key}, "payload": {"S": PAYLOAD}})
            else:
                assert "Item" in client.get_item(TableName=table, Key={"pk": {"S": key}})
    else:
        parsed = urllib.parse.urlparse(endpoint)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        native_table = table.lower()

        def once(key):
            if operation == "put":
                connection.request("PUT", f"/v1/tables/{native_table}/items/{key}", body=json.dumps({"pk": key, "payload": PAYLOAD}), headers=headers)
            else:
                connection.request("GET", f"/v1/tables/{native_table}/items/{key}", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status

    while True:
        key = f"c{client_index}-{sequence % KEYS_PER_CLIENT}"
        sequence += 1
        began = time.monotonic()
        if began >= window[1]:
            break
        once(key)
        ended = time.monotonic()
        if began >= window[0] and ended <= window[1]:
            latencies.append(ended - began)
    results.put(latencies)


def populate(endpoint, data, table, clients):
    """Writes every key a read will ask for."""
    client = boto3_client(endpoint, data)
    for index in range(clients):
        for number in range(KEYS_PER_CLIENT):
            client.put_item(TableName=table, Item={"pk": {"S": f"c{index}-{number}"}, "payload": {"S": PAYLOAD}})


def measure(kind, operation, endpoint, data, table, clients, seconds):
    results = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=run_client, args=(kind, operation, endpoint, data, table, index, seconds, results)) for index in range(clients)]
    for process in processes:
        process.start()
    latencies = sorted(latency for _ in processes for latency in results.get())
    for process in processes:
        process.join()
    if not latencies:
        return 0.0, 0.0, 0.0
    def quantile(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    return len(latencies) / seconds, quantile(0.5), quantile(0.99)


def replay_costs(endpoint, data, table, replays):
    """Milliseconds per request, one client on one kept-alive connection."""
    client = boto3_client(endpoint, data)
    captured = {}

    def capture(request, **_):
        captured["headers"] = {name: (value.decode() if isinstance(value, bytes) else value) for name, value in request.headers.items()}
        captured["body"] = request.body

    client.meta.events.register("before-send.dynamodb.*", capture)
    parsed = urllib.parse.urlparse(endpoint)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
    token = open(f"{data}/token").read().strip()

    def timed(method, path, body=None, headers=None):
        began = time.monotonic()
        for _ in range(replays):
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, (path, response.status)
        return (time.monotonic() - began) / replays * 1000

    bearer = {"Authorization": f"Bearer {token}"}
    rows = [("GET /v1/health (client and HTTP floor)", timed("GET", "/v1/health")),
            ("native GET /v1/tables", timed("GET", "/v1/tables", headers=bearer)),
            ("native GET of an item", timed("GET", f"/v1/tables/{table.lower()}/items/c0-0", headers=bearer))]
    for label, call in [("DynamoDB ListTables", lambda: client.list_tables()),
                        ("DynamoDB GetItem", lambda: client.get_item(TableName=table, Key={"pk": {"S": "c0-0"}})),
                        ("DynamoDB PutItem", lambda: client.put_item(TableName=table, Item={"pk": {"S": "c0-0"}, "payload": {"S": PAYLOAD}}))]:
        call()
        rows.append((label, timed("POST", "/", body=captured["body"], headers=captured["headers"])))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="meridian dev's data folder (aws-credentials and token)")
    parser.add_argument("--endpoint", default="http://127.0.0.1:7001")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--replays", type=int, default=2000)
    arguments = parser.parse_args()
    table = f"bench-{uuid.uuid4().hex[:8]}"
    admin = boto3_client(arguments.endpoint, arguments.data)
    admin.create_table(TableName=table, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    print(f"table {table} at {arguments.endpoint}, {arguments.seconds:g} s per measurement")
    print(f"{'clients':>7} {'operation':>9} {'api':>7} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for clients in [int(count) for count in arguments.clients.split(",")]:
        populate(arguments.endpoint, arguments.data, table, clients)
        for operation in ("put", "get"):
            rows = {}
            for kind in ("native", "boto3"):
                rows[kind] = measure(kind, operation, arguments.endpoint, arguments.data, table, clients, arguments.seconds)
                rate, p50, p99 = rows[kind]
                print(f"{clients:>7} {operation:>9} {kind:>7} {rate:>9.0f} {p50:>8.2f} {p99:>8.2f}", flush=True)
            if rows["native"][0] > 0:
                print(f"{'':>7} {'':>9} {'ratio':>7} {rows['boto3'][0] / rows['native'][0]:>9.2f} "
                      f"{rows['boto3'][1] / max(rows['native'][1], 1e-9):>8.2f} {rows['boto3'][2] / max(rows['native'][2], 1e-9):>8.2f}  (boto3 / native)")
    print("server's share (signed requests replayed, one client):")
    for label, milliseconds in replay_costs(arguments.endpoint, arguments.data, table, arguments.replays):
        print(f"  {label:<40} {milliseconds:6.2f} ms")
    admin.delete_table(TableName=table)


if __name__ == "__main__":
    main()
