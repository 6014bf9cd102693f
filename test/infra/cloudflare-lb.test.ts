/**
 * `terraform validate`-level checks of infra/cloudflare/ without the provider binary: every .tf file
 * parses with HashiCorp's own HCL2 parser (@cdktf/hcl2json, the Go hcl library as wasm — no
 * home-made parser), every reference names a declared resource or variable, and the jurisdiction
 * invariants hold: one pool per jurisdiction with its own backends only, one load balancer per
 * jurisdiction whose default and fallback pool are that pool alone, nothing that steers across
 * pools, and a /healthz monitor at Cloudflare's shortest interval.
 */
import { parse } from '@cdktf/hcl2json';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const folder = 'infra/cloudflare';
const jurisdictions = ['eu', 'us', 'ap'] as const;
const shortestMonitorIntervalSeconds = 10;

type Block = Record<string, unknown>;
interface Config { resource: Record<string, Record<string, Block>>; variable: Record<string, Block>; texts: string[] }

let config: Config;

beforeAll(async () => {
  config = { resource: {}, variable: {}, texts: [] };
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.tf')).sort()) {
    const text = readFileSync(join(folder, file), 'utf8');
    const parsed = (await parse(file, text)) as { resource?: Record<string, Record<string, Block[]>>; variable?: Record<string, Block[]> };
    config.texts.push(JSON.stringify(parsed));
    for (const [type, byName] of Object.entries(parsed.resource ?? {})) {
      for (const [name, blocks] of Object.entries(byName)) {
        expect(config.resource[type]?.[name], `${type}.${name} declared twice`).toBeUndefined();
        (config.resource[type] ??= {})[name] = blocks[0]!;
      }
    }
    for (const [name, blocks] of Object.entries(parsed.variable ?? {})) config.variable[name] = blocks[0]!;
  }
});

const resource = (type: string, name: string): Block => {
  const block = config.resource[type]?.[name];
  if (block === undefined) throw new Error(`${type}.${name} is not declared in ${folder}`);
  return block;
};

describe('infra/cloudflare parses and its references resolve', () => {
  it('declares the three v5 resource types', () => {
    expect(Object.keys(config.resource).sort()).toEqual(['cloudflare_load_balancer', 'cloudflare_load_balancer_monitor', 'cloudflare_load_balancer_pool']);
  });

  it('refers only to declared resources and variables', () => {
    const all = config.texts.join('\n');
    const resourceRefs = [...all.matchAll(/\b(cloudflare_[a-z_]+)\.([a-z0-9_]+)\.id\b/g)];
    expect(resourceRefs.length).toBeGreaterThan(0);
    for (const [, type, name] of resourceRefs) expect(config.resource[type!]?.[name!], `${type}.${name}`).toBeDefined();
    const variableRefs = [...all.matchAll(/\bvar\.([a-z0-9_]+)/g)];
    for (const [, name] of variableRefs) expect(config.variable[name!], `var.${name}`).toBeDefined();
  });
});

describe('the jurisdiction invariants', () => {
  it('has one pool per jurisdiction with only that jurisdiction\'s backends, monitored', () => {
    for (const jurisdiction of jurisdictions) {
      const pool = resource('cloudflare_load_balancer_pool', jurisdiction);
      expect(pool.origins).toMatch(new RegExp(`^\\$\\{\\[for backend in var\\.${jurisdiction}_backends :`));
      expect(String(pool.origins).match(/var\.[a-z]+_backends/g)).toEqual([`var.${jurisdiction}_backends`]);
      expect(pool.monitor).toBe('${cloudflare_load_balancer_monitor.healthz.id}');
      expect(config.variable[`${jurisdiction}_backends`]?.validation).toEqual([expect.objectContaining({ condition: `\${length(var.${jurisdiction}_backends) >= 2}` })]);
    }
  });

  it('has one load balancer per jurisdiction that steers only to its own pool', () => {
    for (const jurisdiction of jurisdictions) {
      const lb = resource('cloudflare_load_balancer', jurisdiction);
      const own = `\${cloudflare_load_balancer_pool.${jurisdiction}.id}`;
      expect(lb.default_pools).toEqual([own]);
      expect(lb.fallback_pool).toBe(own);
      expect(lb.steering_policy).toBe('off');
      expect(lb.adaptive_routing).toEqual({ failover_across_pools: false });
      for (const crossing of ['region_pools', 'country_pools', 'pop_pools', 'rules']) expect(lb[crossing], `${jurisdiction} ${crossing}`).toBeUndefined();
    }
    expect(Object.keys(config.resource.cloudflare_load_balancer!).sort()).toEqual([...jurisdictions].sort());
  });

  it('monitors GET /healthz over https at the shortest interval Cloudflare allows', () => {
    const monitor = resource('cloudflare_load_balancer_monitor', 'healthz');
    expect(monitor).toMatchObject({ type: 'https', method: 'GET', path: '/healthz', expected_codes: '200', consecutive_down: 1, allow_insecure: false, interval: '${var.monitor_interval_seconds}' });
    expect(config.variable.monitor_interval_seconds?.default).toBe(shortestMonitorIntervalSeconds);
    expect(config.variable.monitor_interval_seconds?.validation).toEqual([expect.objectContaining({ condition: `\${var.monitor_interval_seconds >= ${shortestMonitorIntervalSeconds}}` })]);
  });
});

describe('the parser refuses what terraform would', () => {
  it('rejects a block that is not closed', async () => {
    await expect(parse('broken.tf', 'resource "cloudflare_load_balancer" "eu" {\n  name = "x"\n')).rejects.toThrow();
  });
});
