"""The object-locked audit bucket has a writer and a use (issue 16): every backup's manifest (the
sha256 of each backup file; no personal data) is copied there under COMPLIANCE object lock by the
code location, the only role Terraform lets put (with retention) under ``backups/`` (P6, P13, P20).
Real S3 API: moto's server with object lock enabled on the bucket (moto does not implement
GetObjectRetention; the lock shows in HeadObject and in a refused delete)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from ccr_pipelines.services import backup
from ccr_pipelines.stores.control_store import ControlStore
from ccr_pipelines.stores.object_store import LocalObjectStore, S3ObjectStore
from ccr_tools.infra_policies import AUDIT_WRITERS, role_policy


@pytest.fixture
def buckets(moto_server):
    client = boto3.client("s3", endpoint_url=moto_server, region_name="eu-west-3")
    data, audit = "ccr-data-" + uuid.uuid4().hex[:8], "ccr-audit-" + uuid.uuid4().hex[:8]
    loc = {"LocationConstraint": "eu-west-3"}
    client.create_bucket(Bucket=data, CreateBucketConfiguration=loc)
    client.create_bucket(Bucket=audit, CreateBucketConfiguration=loc, ObjectLockEnabledForBucket=True)
    return moto_server, client, data, audit


def test_p6_p13_a_backup_copies_its_manifest_into_the_audit_bucket_under_compliance_lock(buckets, tmp_path):
    endpoint, client, data, audit = buckets
    store = S3ObjectStore(data, endpoint_url=endpoint, sse="none", audit_bucket=audit, audit_retention_days=1825)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    lines: list[str] = []
    m = backup.create_backup(control, store, warehouse=False, log=lines.append)
    key = backup.audit_manifest_key(m.backup_id)
    head = client.head_object(Bucket=audit, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert until - datetime.now(UTC) > timedelta(days=1824)
    copy = client.get_object(Bucket=audit, Key=key)["Body"].read()
    assert copy == store.get_bytes(f"{backup.backup_prefix(m.backup_id)}/manifest.json")
    assert json.loads(copy)["backup_id"] == m.backup_id
    assert any(f"s3://{audit}/{key}" in line for line in lines)
    # write once: the locked version cannot be deleted before its retention ends
    with pytest.raises(ClientError):
        client.delete_object(Bucket=audit, Key=key, VersionId=head["VersionId"])
    # pruning backups (keep_days) leaves the audit copy alone
    assert client.head_object(Bucket=audit, Key=key)["VersionId"] == head["VersionId"]


def test_a_store_without_an_audit_bucket_copies_nothing(tmp_path):
    assert LocalObjectStore(tmp_path).put_audit_copy("backups/x/manifest.json", b"{}") is None


def test_p3_only_the_code_location_may_put_audit_copies_and_only_under_its_prefixes():
    assert AUDIT_WRITERS == {"code_location": ("backups",)}
    for role in ("code_location", "asr_worker", "report_delivery"):
        audit = [s for s in role_policy(role)["Statement"] if "${audit_bucket_arn}" in json.dumps(s["Resource"])]
        if role in AUDIT_WRITERS:
            assert [(s["Resource"], s["Action"]) for s in audit] == [
                ("${audit_bucket_arn}/backups/*", ["s3:PutObject", "s3:PutObjectRetention"])
            ]
        else:
            assert audit == []
