"""S3 lifecycle, bucket policy and IAM documents derived from the code's own rules — pure (P2, P3, P5, P19).

One source of truth: the object-store zones (``core.keys.ZONES``) and the
retention classes with their bounds (``core.tenants``). Terraform reads the
JSON these functions produce (``scripts/render_infra_policies.py`` writes them
under ``infra/terraform/policies/``; a test fails when they drift).

Lifecycle rules are a *backstop*: the daily purge applies each tenant's own
retention; the bucket expires a zone's objects at the upper bound a tenant may
choose for that class (plus a grace), so nothing outlives the longest allowed
retention even if the purge stops. Deletes on a versioned bucket leave
non-current versions and delete markers: those go after 7 days.
ARNs are placeholders (``${bucket_arn}``, ``${kms_key_arn}``) filled by
Terraform's ``templatefile``.
"""

from __future__ import annotations

from ccr_pipelines.core.keys import ZONES
from ccr_pipelines.core.tenants import RETENTION_BOUNDS

GRACE_DAYS = 7  # after the longest allowed retention, time for the purge job to have run and be checked
NONCURRENT_DAYS = 7  # a deleted object's old versions: long enough to undo a mistaken purge, no longer
# Zone -> the retention class whose bound applies (None: no expiry by lifecycle, see why).
ZONE_CLASS: dict[str, str | None] = {
    "raw": None,  # inbox: objects are moved out by ingestion within minutes; leftovers expire below
    "audio": "audio",
    "quarantine": "audio",  # rejected recordings are audio too
    "playback": "audio",  # the silenced copies of the recordings
    "restricted": "raw_transcript",
    "datasets": "scores",  # per-call tables: scores, metrics, redacted transcripts (same bound)
    "reports": "reports",
    "exports": None,  # data-subject and tenant exports: short-lived, below
    "control": None,  # registry snapshots and backups: kept; audit copies go to the locked bucket
    "lineage": "incidents",  # lineage events are audit evidence, kept like incident records
}
SHORT_LIVED_DAYS = {"raw": 14, "exports": 30}  # an export link lives days; an inbox leftover is an incident
ROLE_ACCESS: dict[str, dict[str, tuple[str, ...]]] = {
    # role -> {zone: actions}; least privilege per prefix (P3)
    # the pipeline itself: every zone (it moves inbox objects, writes every dataset, runs purges)
    "code_location": {z: ("read", "write", "delete") for z in ZONES},
    "asr_worker": {"audio": ("read",), "restricted": ("write",)},
    "report_delivery": {"reports": ("read",)},
}
# Write-once copies in the object-locked audit bucket (infra/terraform main.tf, `audit`): who may
# add them and under which prefixes. Put only (with its retention): nobody reads, overwrites or
# deletes through these roles; the lock itself forbids deletion before the retention ends.
AUDIT_WRITERS: dict[str, tuple[str, ...]] = {"code_location": ("backups",)}
ACTIONS = {
    "read": ["s3:GetObject", "s3:GetObjectVersion"],
    "write": ["s3:PutObject"],
    "delete": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
}


def zone_expiry_days(zone: str) -> int | None:
    if zone in SHORT_LIVED_DAYS:
        return SHORT_LIVED_DAYS[zone]
    data_class = ZONE_CLASS[zone]
    if data_class is None:
        return None
    return RETENTION_BOUNDS[data_class][1] + GRACE_DAYS


def lifecycle_rules() -> dict:
    rules = []
    for zone in ZONES:
        rule: dict = {
            "ID": f"zone-{zone}",
            "Status": "Enabled",
            "Filter": {"Prefix": f"{zone}/"},
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
        days = zone_expiry_days(zone)
        if days is not None:
            rule["Expiration"] = {"Days": days}
        else:
            rule["Expiration"] = {"ExpiredObjectDeleteMarker": True}
        rules.append(rule)
    return {"Rules": rules}


def bucket_policy() -> dict:
    """TLS only (P5 in transit), KMS-encrypted writes only (P5 at rest)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["${bucket_arn}", "${bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyUnencryptedWrites",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "${bucket_arn}/*",
                "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            },
            {
                "Sid": "DenyOtherKmsKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "${bucket_arn}/*",
                "Condition": {
                    "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "${kms_key_arn}"}
                },
            },
        ],
    }


def role_policy(role: str) -> dict:
    access = ROLE_ACCESS[role]
    statements = []
    for zone, verbs in sorted(access.items()):
        actions = sorted({a for v in verbs for a in ACTIONS[v]})
        statements.append(
            {
                "Sid": f"{zone.capitalize()}Objects",
                "Effect": "Allow",
                "Action": actions,
                "Resource": f"${{bucket_arn}}/{zone}/*",
            }
        )
    statements.append(
        {
            "Sid": "ListOwnPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "${bucket_arn}",
            "Condition": {"StringLike": {"s3:prefix": [f"{z}/*" for z in sorted(access)]}},
        }
    )
    for prefix in AUDIT_WRITERS.get(role, ()):
        statements.append(
            {
                "Sid": f"Audit{prefix.capitalize()}Copies",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:PutObjectRetention"],
                "Resource": f"${{audit_bucket_arn}}/{prefix}/*",
            }
        )
    statements.append(
        {
            "Sid": "UseTheBucketKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "${kms_key_arn}",
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def all_documents() -> dict[str, dict]:
    docs = {"lifecycle.json": lifecycle_rules(), "bucket_policy.json": bucket_policy()}
    docs.update({f"iam_{role}.json": role_policy(role) for role in ROLE_ACCESS})
    return docs
