# One HTTPS monitor on GET /healthz (200 only when the backend's database answers; regional/routes/healthz.ts).
resource "cloudflare_load_balancer_monitor" "healthz" {
  account_id       = var.account_id
  description      = "meridian regional /healthz"
  type             = "https"
  method           = "GET"
  path             = "/healthz"
  expected_codes   = "200"
  expected_body    = "\"status\":\"ok\""
  interval         = var.monitor_interval_seconds
  timeout          = 5
  retries          = 1
  consecutive_down = 1
  consecutive_up   = 2
  follow_redirects = false
  allow_insecure   = false
}
