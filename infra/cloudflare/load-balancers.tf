# One load balancer (hostname) per jurisdiction whose default and fallback pool are that
# jurisdiction's pool and nothing else: no region, country or PoP pools, no failover across pools.
# When every origin of a jurisdiction is down the hostname answers an error rather than send the
# jurisdiction's traffic elsewhere — residency outranks availability.
resource "cloudflare_load_balancer" "eu" {
  zone_id          = var.zone_id
  name             = "eu.${var.zone_name}"
  description      = "meridian eu: never leaves jurisdiction eu"
  default_pools    = [cloudflare_load_balancer_pool.eu.id]
  fallback_pool    = cloudflare_load_balancer_pool.eu.id
  steering_policy  = "off"
  proxied          = true
  session_affinity = "none"
  adaptive_routing = { failover_across_pools = false }
}

resource "cloudflare_load_balancer" "us" {
  zone_id          = var.zone_id
  name             = "us.${var.zone_name}"
  description      = "meridian us: never leaves jurisdiction us"
  default_pools    = [cloudflare_load_balancer_pool.us.id]
  fallback_pool    = cloudflare_load_balancer_pool.us.id
  steering_policy  = "off"
  proxied          = true
  session_affinity = "none"
  adaptive_routing = { failover_across_pools = false }
}

resource "cloudflare_load_balancer" "ap" {
  zone_id          = var.zone_id
  name             = "ap.${var.zone_name}"
  description      = "meridian ap: never leaves jurisdiction ap"
  default_pools    = [cloudflare_load_balancer_pool.ap.id]
  fallback_pool    = cloudflare_load_balancer_pool.ap.id
  steering_policy  = "off"
  proxied          = true
  session_affinity = "none"
  adaptive_routing = { failover_across_pools = false }
}
