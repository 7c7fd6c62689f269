variable "environment" {
  description = "staging or prod (CCR_ENV)"
  type        = string
  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment is staging or prod."
  }
}

variable "region" {
  description = "AWS region of every bucket (P2: EU only; ccr refuses a non-EU object store at start-up too)"
  type        = string
  default     = "eu-west-3"
  validation {
    condition     = startswith(var.region, "eu-")
    error_message = "P2: data stays in an EU region."
  }
}

variable "bucket_name" {
  description = "the object store (CCR_S3_BUCKET)"
  type        = string
}

variable "audit_bucket_name" {
  description = "write-once copies of audit trails and evidence packs (object lock)"
  type        = string
}

variable "audit_retention_days" {
  description = "object-lock retention of audit copies; matches the incidents retention default (5 years)"
  type        = number
  default     = 1825
}

variable "oidc_provider_arn" {
  description = "the EKS cluster's OIDC provider (IAM roles for service accounts)"
  type        = string
}

variable "oidc_provider_url" {
  description = "the same provider's URL without https://"
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the Dagster deployment"
  type        = string
  default     = "dagster"
}

variable "service_accounts" {
  description = "role -> Kubernetes service account (see infra/helm/values.yaml)"
  type        = map(string)
  default = {
    code_location   = "ccr-code-location"
    asr_worker      = "ccr-asr-worker"
    report_delivery = "ccr-report-delivery"
  }
}
