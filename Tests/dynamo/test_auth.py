"""AWS Signature Version 4 is verified for real; token roles apply."""

import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest

from conftest import create_table, unique


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]


def test_an_unknown_access_key_is_an_unrecognized_client(cluster):
    client = boto3.client("dynamodb", endpoint_url=cluster.endpoint("us-east"), region_name="us-east",
                          aws_access_key_id="nobody", aws_secret_access_key="x")
    assert error_of(client.list_tables) == {"Code": "UnrecognizedClientException", "Message": "The security token included in the request is invalid."}


def test_a_wrong_secret_is_an_invalid_signature(cluster):
    client = boto3.client("dynamodb", endpoint_url=cluster.endpoint("eu-west"), region_name="eu-west",
                          aws_access_key_id="dev-admin", aws_secret_access_key="not-the-secret")
    error = error_of(client.list_tables)
    assert error["Code"] == "InvalidSignatureException"
    assert error["Message"].startswith("The request signature we calculated does not match the signature you provided.")


def test_a_request_without_a_signature_is_refused(cluster):
    request = urllib.request.Request(cluster.endpoint("us-east") + "/", data=b"{}", method="POST",
                                      headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400
    assert b"MissingAuthenticationTokenException" in raised.value.read()


def test_a_body_changed_after_signing_is_refused(cluster):
    """The signature covers the body's SHA-256: a tampered body does not verify."""
    client = cluster.client("us-east")

    def tamper(request, **_):
        request.body = request.body.replace(b'"Limit": 5', b'"Limit": 6')

    client.meta.events.register_first("before-send.dynamodb.ListTables", tamper)
    assert error_of(lambda: client.list_tables(Limit=5))["Code"] == "InvalidSignatureException"


def test_roles_apply_to_dynamodb_operations(cluster):
    admin = cluster.client("us-east")
    name = unique("roles")
    create_table(admin, name)
    reader, writer = cluster.client("us-east", token="reader"), cluster.client("us-east", token="writer")
    assert "Item" not in reader.get_item(TableName=name, Key={"pk": {"S": "a"}})
    error = error_of(lambda: reader.put_item(TableName=name, Item={"pk": {"S": "a"}}))
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].startswith("User: meridian:token/reader is not authorized to perform: dynamodb:PutItem")
    writer.put_item(TableName=name, Item={"pk": {"S": "a"}})
    assert error_of(lambda: writer.delete_table(TableName=name))["Code"] == "AccessDeniedException"
    assert reader.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}


def test_the_native_api_still_wants_its_bearer_token(cluster):
    status, _ = cluster.native("GET", "us-east", "/v1/tables")
    assert status == 200
    request = urllib.request.Request(cluster.endpoint("us-east") + "/v1/tables")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 401
