# One pool per jurisdiction holding exactly that jurisdiction's backends. The preference order of
# settlement belongs to the edge (REGIONAL_BACKENDS + breakers); the pool spreads what goes through
# the load balancer (auditor API, evidence export) over every healthy origin of its jurisdiction.
resource "cloudflare_load_balancer_pool" "eu" {
  account_id         = var.account_id
  name               = "meridian-eu"
  description        = "eu regional backends (jurisdiction eu only)"
  monitor            = cloudflare_load_balancer_monitor.healthz.id
  minimum_origins    = 1
  notification_email = var.notification_email
  origin_steering    = { policy = "least_outstanding_requests" }
  origins = [for backend in var.eu_backends : {
    name    = backend.region
    address = backend.address
    enabled = true
    weight  = 1
    header  = { host = [backend.address] }
  }]
}

resource "cloudflare_load_balancer_pool" "us" {
  account_id         = var.account_id
  name               = "meridian-us"
  description        = "us regional backends (jurisdiction us only)"
  monitor            = cloudflare_load_balancer_monitor.healthz.id
  minimum_origins    = 1
  notification_email = var.notification_email
  origin_steering    = { policy = "least_outstanding_requests" }
  origins = [for backend in var.us_backends : {
    name    = backend.region
    address = backend.address
    enabled = true
    weight  = 1
    header  = { host = [backend.address] }
  }]
}

resource "cloudflare_load_balancer_pool" "ap" {
  account_id         = var.account_id
  name               = "meridian-ap"
  description        = "ap regional backends (jurisdiction ap only)"
  monitor            = cloudflare_load_balancer_monitor.healthz.id
  minimum_origins    = 1
  notification_email = var.notification_email
  origin_steering    = { policy = "least_outstanding_requests" }
  origins = [for backend in var.ap_backends : {
    name    = backend.region
    address = backend.address
    enabled = true
    weight  = 1
    header  = { host = [backend.address] }
  }]
}
