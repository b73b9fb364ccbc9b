"""The AWS CLI with only its endpoint URL changed, as README.md shows it."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import unique

AWS = shutil.which("aws")


def aws(cluster, region, *arguments):
    environment = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(cluster.data / "aws-credentials"), "AWS_DEFAULT_REGION": region,
                   "AWS_CONFIG_FILE": os.devnull}
    environment.pop("AWS_ACCESS_KEY_ID", None)
    environment.pop("AWS_SECRET_ACCESS_KEY", None)
    environment.pop("AWS_SESSION_TOKEN", None)
    completed = subprocess.run([AWS, "dynamodb", "--endpoint-url", cluster.endpoint(region), "--output", "json", *arguments],
                               capture_output=True, text=True, env=environment, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout) if completed.stdout.strip() else {}


@pytest.mark.skipif(AWS is None and os.environ.get("CI") != "true", reason="the AWS CLI is not installed (pip install awscli)")
def test_put_get_and_query_with_the_aws_cli(cluster):
    assert AWS, "CI=true but the aws command is missing: .ci/run installs awscli"
    name = unique("Cli")
    aws(cluster, "us-east", "create-table", "--table-name", name,
        "--attribute-definitions", "AttributeName=Artist,AttributeType=S", "AttributeName=Year,AttributeType=N",
        "--key-schema", "AttributeName=Artist,KeyType=HASH", "AttributeName=Year,KeyType=RANGE", "--billing-mode", "PAY_PER_REQUEST")
    for year, album in [(1975, "A Night at the Opera"), (1977, "News of the World"), (1980, "The Game")]:
        aws(cluster, "eu-west", "put-item", "--table-name", name,
            "--item", json.dumps({"Artist": {"S": "Queen"}, "Year": {"N": str(year)}, "Album": {"S": album}}))
    got = aws(cluster, "eu-west", "get-item", "--table-name", name, "--key", json.dumps({"Artist": {"S": "Queen"}, "Year": {"N": "1977"}}))
    assert got["Item"]["Album"] == {"S": "News of the World"}
    found = aws(cluster, "eu-west", "query", "--table-name", name, "--key-condition-expression", "Artist = :a AND #y >= :y",
                "--expression-attribute-names", '{"#y": "Year"}', "--expression-attribute-values", '{":a": {"S": "Queen"}, ":y": {"N": "1976"}}')
    assert [item["Year"]["N"] for item in found["Items"]] == ["1977", "1980"]
