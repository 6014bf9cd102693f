# Cloudflare Load Balancing in front of the regional backends (DESIGN.md "Evidence, observability,
# failover"). Provider v5 (attribute syntax for nested objects). See README.md beside this file for
# how the load balancer and the edge's own failover combine.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.0"
    }
  }
}

provider "cloudflare" {
  # CLOUDFLARE_API_TOKEN in the environment: Load Balancers Write (zone), Load Balancing: Monitors
  # and Pools Write (account). Never in a .tf file.
}
