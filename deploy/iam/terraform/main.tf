# Terraform snippet: the read-only policy of ../policy.json for one table, and an IAM role for the
# exporter's Kubernetes ServiceAccount (IRSA) with that policy attached. Set the variables; the
# policy's text is ../policy.json with REGION, ACCOUNT_ID and the table name filled in. Checked by
# checkov in scripts/check-deploy (it is not applied there: no AWS account is reachable).

variable "region" {
  type        = string
  description = "Region of the migration-progress table"
}

variable "account_id" {
  type        = string
  description = "AWS account that owns the table"
}

variable "table_name" {
  type        = string
  default     = "migration-progress"
  description = "The table the migration workers write"
}

variable "oidc_provider" {
  type        = string
  description = "The EKS cluster's OIDC issuer without https://, e.g. oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
}

variable "service_account" {
  type        = string
  default     = "monitoring:migration-exporter"
  description = "NAMESPACE:NAME of the exporter's ServiceAccount"
}

locals {
  policy = replace(
    replace(
      replace(file("${path.module}/../policy.json"), "REGION", var.region),
      "ACCOUNT_ID", var.account_id
    ),
    "table/migration-progress", "table/${var.table_name}"
  )
}

resource "aws_iam_policy" "migration_exporter" {
  name        = "migration-exporter-read"
  description = "Read-only access of migration-exporter and migration-monitor to ${var.table_name}"
  policy      = local.policy
}

data "aws_iam_policy_document" "irsa_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::${var.account_id}:oidc-provider/${var.oidc_provider}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:sub"
      values   = ["system:serviceaccount:${var.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "migration_exporter" {
  name               = "migration-exporter"
  assume_role_policy = data.aws_iam_policy_document.irsa_trust.json
}

resource "aws_iam_role_policy_attachment" "migration_exporter" {
  role       = aws_iam_role.migration_exporter.name
  policy_arn = aws_iam_policy.migration_exporter.arn
}

output "role_arn" {
  description = "Put this in the ServiceAccount's eks.amazonaws.com/role-arn annotation"
  value       = aws_iam_role.migration_exporter.arn
}
