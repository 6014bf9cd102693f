/**
 * Regional backends for the workerd suites, as a separate Node process (the workers project's
 * module resolution targets workerd, so the Node stack must not load inside it): PGlite over the
 * wire with migrations, then one backend per jurisdiction with a local signer. Edge tokens are
 * verified against the dev gateway's settlement-token public key, as a backend would fetch it from
 * the gateway's settlement-token JWKS.
 *
 *   node test/support/regional-fixture.ts <first port>     prints `regional-fixture: ready`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createLocalJWKSet, type JWK } from 'jose';
import { startPgliteServer } from '../../cli/dev/pglite-server.ts';
import { loadDevGateway } from '../../dev/fixtures.ts';
import { createRegionalApp } from '../../regional/app.ts';
import { connectRegionalDatabase, readConnectionsMax } from '../../regional/db/client.ts';
import { migrateDatabase } from '../../regional/db/migrate.ts';
import { registerBackendKeys } from '../../regional/keys/backend-keys.ts';
import { createSigner } from '../../regional/signer/create-signer.ts';

// The posture these backends run in (regional/config.ts): local signer, fresh key files, dev keys.
process.env.MERIDIAN_POSTURE = 'local-dev';

const firstPort = Number(process.argv[2] ?? '18701');
const backends = [
  { region: 'eu-1', jurisdiction: 'eu', port: firstPort },
  { region: 'us-1', jurisdiction: 'us', port: firstPort + 1 },
  { region: 'ap-1', jurisdiction: 'ap', port: firstPort + 2 },
];

const keyDirectory = mkdtempSync(join(tmpdir(), 'meridian-workers-keys-'));
const gateway = loadDevGateway();
// The settlement-token key (published at /.well-known/settlement-token-jwks.json), never the receipt key.
const { d: _private, ...publicJwk } = gateway.settlement_token_jwk;
const edgeKeys = createLocalJWKSet({ keys: [publicJwk as JWK] });
const database = await startPgliteServer({ port: 0 });
await migrateDatabase(database.connectionString);
const stops: Array<() => Promise<void>> = [];
for (const backend of backends) {
  const connection = connectRegionalDatabase(database.connectionString, { applicationName: `workers-test-${backend.region}` });
  const signer = await createSigner({ kind: 'local', keyFile: join(keyDirectory, `${backend.region}.json`), createKeyFile: true });
  const readConnection = connectRegionalDatabase(database.connectionString, { applicationName: `workers-test-${backend.region}-read`, connectionsMax: readConnectionsMax });
  // As regional/server.ts does at start: the keys are in the jurisdiction's registry before the backend serves.
  const registered = await registerBackendKeys(connection.orm, { region: backend.region, jurisdiction: backend.jurisdiction, signer, noteSigner: signer }, new Date());
  if (!registered.ok) throw new Error(`regional-fixture: ${backend.region}: ${registered.reason.detail}`);
  const app = createRegionalApp({ region: backend.region, jurisdiction: backend.jurisdiction, gatewayId: gateway.gateway_id, database: connection, readDatabase: readConnection, signer, edgeKeys, keysRegisteredAtStart: true });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const listening = serve({ fetch: app.fetch, port: backend.port, hostname: '127.0.0.1' }, () => resolve(listening));
    listening.once('error', (cause) => reject(new Error(`regional-fixture: ${backend.region} cannot listen on ${backend.port}: ${cause.message}`)));
  });
  stops.push(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close();
    await readConnection.close();
  });
}
console.log('regional-fixture: ready');

async function shutdown(): Promise<void> {
  for (const stop of stops) await stop();
  await database.stop();
  rmSync(keyDirectory, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
