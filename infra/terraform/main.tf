# The object store and its audit twin. Policies are generated from the code's zones and
# retention bounds (scripts/render_infra_policies.py -> policies/*.json); never edit them here.

locals {
  lifecycle = jsondecode(file("${path.module}/policies/lifecycle.json"))
  policy_vars = {
    bucket_arn       = aws_s3_bucket.data.arn
    kms_key_arn      = aws_kms_key.data.arn
    audit_bucket_arn = aws_s3_bucket.audit.arn # write-once copies (core/infra_policies.AUDIT_WRITERS)
  }
}

resource "aws_kms_key" "data" {
  description             = "ccr ${var.environment}: SSE-KMS for the object store (P5)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_s3_bucket" "data" {
  bucket = var.bucket_name
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket     = aws_s3_bucket.data.id
  policy     = templatefile("${path.module}/policies/bucket_policy.json", local.policy_vars)
  depends_on = [aws_s3_bucket_public_access_block.data]
}

# Backstop of the daily purge (P19): each zone expires at the longest retention a tenant may choose.
resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket     = aws_s3_bucket.data.id
  depends_on = [aws_s3_bucket_versioning.data]

  dynamic "rule" {
    for_each = local.lifecycle.Rules
    content {
      id     = rule.value.ID
      status = rule.value.Status
      filter {
        prefix = rule.value.Filter.Prefix
      }
      expiration {
        days                         = try(rule.value.Expiration.Days, null)
        expired_object_delete_marker = try(rule.value.Expiration.ExpiredObjectDeleteMarker, null)
      }
      noncurrent_version_expiration {
        noncurrent_days = rule.value.NoncurrentVersionExpiration.NoncurrentDays
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = rule.value.AbortIncompleteMultipartUpload.DaysAfterInitiation
      }
    }
  }
}

# Audit copies: write once (P6, P13, P20). Writer: the code location (IAM: put + retention under
# backups/ only), which copies every backup's manifest here under COMPLIANCE object lock
# (services/backup.py). Only records without personal data are copied: a locked object cannot be
# erased before its retention ends, so audit packs (actors, incident notes) are not.
resource "aws_s3_bucket" "audit" {
  bucket              = var.audit_bucket_name
  object_lock_enabled = true
}

resource "aws_s3_bucket_public_access_block" "audit" {
  bucket                  = aws_s3_bucket.audit.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "audit" {
  bucket = aws_s3_bucket.audit.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "audit" {
  bucket = aws_s3_bucket.audit.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_object_lock_configuration" "audit" {
  bucket = aws_s3_bucket.audit.id
  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = var.audit_retention_days
    }
  }
}

resource "aws_s3_bucket_policy" "audit" {
  bucket = aws_s3_bucket.audit.id
  policy = templatefile("${path.module}/policies/bucket_policy.json", {
    bucket_arn  = aws_s3_bucket.audit.arn
    kms_key_arn = aws_kms_key.data.arn
  })
  depends_on = [aws_s3_bucket_public_access_block.audit]
}
