"""The DynamoDB API of a three-region `meridian dev` cluster, through boto3 and the AWS CLI.

The session fixture starts `meridian dev` (with its default latency matrix) in a temporary
folder, after adding two more tokens to its secrets file (a read-only one and a write one,
both able to sign DynamoDB requests), waits until every region answers, and stops it at
the end. Environment:

- MERIDIAN_BIN: the `meridian` executable (default: .build/debug/meridian of this package);
- MERIDIAN_DYNAMO_BASE_PORT: the first API port (default 7601); regions take three ports,
  peers 100 higher, the dev control endpoint base + 99.
"""

import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.config
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2]
REGIONS = ["us-east", "eu-west", "ap-south"]
# How long a test waits for replication or convergence, in seconds: far above the
# injected delays (at most 93 ms one way), so only a real failure runs into it.
CONVERGENCE_SECONDS = 15


class Cluster:
    """A running `meridian dev`: where its regions listen and the credentials of its tokens."""

    def __init__(self, data, base_port, credentials, binary):
        self.data = data
        self.base_port = base_port
        self.credentials = credentials  # token name -> (access key id, secret)
        self.binary = binary

    def endpoint(self, region):
        return f"http://127.0.0.1:{self.base_port + REGIONS.index(region)}"

    def client(self, region="us-east", token="dev-admin", retries=3):
        access_key, secret = self.credentials[token]
        config = botocore.config.Config(retries={"max_attempts": retries, "mode": "standard"}, connect_timeout=5, read_timeout=30)
        return boto3.client("dynamodb", endpoint_url=self.endpoint(region), region_name=region,
                            aws_access_key_id=access_key, aws_secret_access_key=secret, config=config)

    def native_token(self):
        return (self.data / "token").read_text().strip()

    def native(self, method, region, path, body=None):
        """A request to the native API: (status, body text)."""
        request = urllib.request.Request(self.endpoint(region) + path, method=method, data=body.encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.native_token()}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def wait_until(condition, seconds=CONVERGENCE_SECONDS, interval=0.05):
    """Polls `condition` until it returns a truthy value (returned) or `seconds` pass (None)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def add_token(binary, secrets, name, role):
    output = subprocess.run([binary, "tokens", "add", name, "--role", role, "--aws", "--secrets", str(secrets)],
                            check=True, capture_output=True, text=True).stdout
    match = re.search(r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)", output)
    assert match, f"meridian tokens add printed no AWS credentials: {output!r}"
    return match.group(1), match.group(2)


@pytest.fixture(scope="session")
def cluster():
    binary = os.environ.get("MERIDIAN_BIN") or str(PACKAGE / ".build" / "debug" / "meridian")
    assert os.access(binary, os.X_OK), f"no meridian executable at {binary}: build with `swift build` or set MERIDIAN_BIN"
    base_port = int(os.environ.get("MERIDIAN_DYNAMO_BASE_PORT", "7601"))
    folder = pathlib.Path(tempfile.mkdtemp(prefix="meridian-dynamo-"))
    data = folder / "data"
    data.mkdir()
    credentials = {
        "reader": add_token(binary, data / "secrets.json", "reader", "read"),
        "writer": add_token(binary, data / "secrets.json", "writer", "write"),
    }
    log = open(folder / "dev.log", "w")
    dev = subprocess.Popen([binary, "dev", "--data", str(data), "--base-port", str(base_port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for region in REGIONS:
            def healthy(region=region):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{base_port + REGIONS.index(region)}/v1/health", timeout=2) as response:
                        return response.status == 200
                except OSError:
                    return False
            assert wait_until(healthy, seconds=60), f"region {region} did not come up; see {folder / 'dev.log'}"
        text = (data / "aws-credentials").read_text()
        credentials["dev-admin"] = (re.search(r"aws_access_key_id = (\S+)", text).group(1), re.search(r"aws_secret_access_key = (\S+)", text).group(1))
        yield Cluster(data, base_port, credentials, binary)
    finally:
        dev.send_signal(signal.SIGINT)
        try:
            dev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dev.kill()
            dev.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def unique(prefix):
    """A table name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_table(client, name, hash_key=("pk", "S"), range_key=None, tags=None):
    """Creates a table and waits until every region of the cluster knows it."""
    definitions = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        definitions.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    arguments = {"TableName": name, "AttributeDefinitions": definitions, "KeySchema": schema, "BillingMode": "PAY_PER_REQUEST"}
    if tags:
        arguments["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return client.create_table(**arguments)["TableDescription"]


@pytest.fixture
def table_in_every_region(cluster):
    """Makes a table (multi-primary, every region) and waits until every region serves it."""
    def make(prefix, **arguments):
        name = unique(prefix)
        create_table(cluster.client("us-east"), name, **arguments)
        for region in REGIONS:
            client = cluster.client(region)
            assert wait_until(lambda: _describes(client, name)), f"{region} never learned of {name}"
        return name
    return make


def _describes(client, name):
    try:
        client.describe_table(TableName=name)
        return True
    except client.exceptions.ResourceNotFoundException:
        return False
