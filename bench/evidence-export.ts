/**
 * Evidence export and offline verification against the running local system (`npm start`, under
 * the port lock), for the last `minutes` (default 60): how long the export takes, how many
 * batches, instructions and items it holds, and how long verification takes. Target: an hour of
 * local traffic exports in under a minute. Appends to bench/results/evidence-export.jsonl.
 *
 *   node_modules/.bin/node bench/evidence-export.ts [minutes]
 */
import { devAccessToken } from '../cli/ops-commands.ts';
import { devEvidenceKeyFile, localBackends } from '../cli/evidence/evidence-commands.ts';
import { exportBundle } from '../cli/evidence/export.ts';
import { verifyBundle } from '../cli/evidence/verify.ts';
import { gatewayUrl } from '../cli/dev/launcher.ts';
import { loadOrCreateLocalSigner } from '../regional/signer/local-signer.ts';
import { recordResult, round } from './machine.ts';

const minutes = Number(process.argv[2] ?? '60');
const to = new Date(Date.now() + 1_000).toISOString();
const from = new Date(Date.now() - minutes * 60_000).toISOString();
const signer = await loadOrCreateLocalSigner({ keyFile: devEvidenceKeyFile, createKeyFile: false });
const startedMs = performance.now();
const bundle = await exportBundle({ from, to, backends: localBackends, gateway: { url: gatewayUrl, token: await devAccessToken('ana@meridian.example') }, signer });
const exportMs = performance.now() - startedMs;
const text = JSON.stringify(bundle);
const verifyStartedMs = performance.now();
const report = await verifyBundle(text);
const verifyMs = performance.now() - verifyStartedMs;
const count = (kind: string) => bundle.items.filter((item) => item.kind === kind).length;
const figures = {
  export_s: round(exportMs / 1000, 2),
  verify_s: round(verifyMs / 1000, 2),
  batches: count('batch'),
  instructions: count('instruction'),
  items: bundle.items.length,
  bundle_bytes: text.length,
  verified: report.ok,
  failed_items: report.failures.size,
};
console.log(`evidence export of the last ${minutes} min: ${JSON.stringify(figures)}`);
recordResult('bench/results/evidence-export.jsonl', { bench: 'evidence-export', minutes, figures });
