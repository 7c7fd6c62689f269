# Least privilege per role and zone prefix (P3): the code location, the ASR worker (audio in,
# transcripts out) and report delivery (reports only). Each is assumed by one Kubernetes
# service account through IRSA.

data "aws_iam_policy_document" "assume" {
  for_each = var.service_accounts
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${each.value}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ccr" {
  for_each           = var.service_accounts
  name               = "ccr-${var.environment}-${replace(each.key, "_", "-")}"
  assume_role_policy = data.aws_iam_policy_document.assume[each.key].json
}

resource "aws_iam_role_policy" "ccr" {
  for_each = var.service_accounts
  name     = "objects"
  role     = aws_iam_role.ccr[each.key].id
  policy   = templatefile("${path.module}/policies/iam_${each.key}.json", local.policy_vars)
}

output "role_arns" {
  description = "annotate the service accounts with these (eks.amazonaws.com/role-arn)"
  value       = { for k, r in aws_iam_role.ccr : k => r.arn }
}

output "bucket" {
  value = aws_s3_bucket.data.id
}

output "kms_key_arn" {
  value = aws_kms_key.data.arn
}
