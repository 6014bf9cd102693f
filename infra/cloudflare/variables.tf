variable "account_id" {
  type        = string
  description = "Cloudflare account that owns the pools and monitors."
}

variable "zone_id" {
  type        = string
  description = "Zone of the load-balanced hostnames (e.g. regional.meridian.example)."
}

variable "zone_name" {
  type        = string
  description = "The zone's name; each jurisdiction's hostname is <jurisdiction>.<zone_name>."
}

# Cloudflare's shortest monitor interval: 10 s on Enterprise (15 s Business, 60 s Pro). Below 10 the
# API refuses the monitor. Even at 10 s with consecutive_down = 1 a dead origin is noticed in 10-20 s,
# which is why settlement failover is the edge's job (sub-second), not the load balancer's.
variable "monitor_interval_seconds" {
  type    = number
  default = 10
  validation {
    condition     = var.monitor_interval_seconds >= 10
    error_message = "Cloudflare's shortest load-balancer monitor interval is 10 seconds (Enterprise)."
  }
}

variable "notification_email" {
  type        = string
  description = "Where pool health changes are sent (the on-call alias); see infra/RUNBOOK.md."
}

# The regional backends of each jurisdiction in preference order: the same backends, in the same
# order, as the edge's REGIONAL_BACKENDS (wrangler.toml [env.production.vars]).
variable "eu_backends" {
  type        = list(object({ region = string, address = string }))
  description = "eu backends, e.g. [{region = \"eu-1\", address = \"eu-1.regional.meridian.example\"}, …]; at least two."
  validation {
    condition     = length(var.eu_backends) >= 2
    error_message = "Each jurisdiction needs at least two backends (DESIGN.md)."
  }
}

variable "us_backends" {
  type = list(object({ region = string, address = string }))
  validation {
    condition     = length(var.us_backends) >= 2
    error_message = "Each jurisdiction needs at least two backends (DESIGN.md)."
  }
}

variable "ap_backends" {
  type = list(object({ region = string, address = string }))
  validation {
    condition     = length(var.ap_backends) >= 2
    error_message = "Each jurisdiction needs at least two backends (DESIGN.md)."
  }
}
