/** Starts the regional backends the workerd suites settle into (test/support/regional-fixture.ts) and stops them after. */
import { spawn } from 'node:child_process';
import { workersTestRegionalPort } from '../../vitest.config.ts';

const readyTimeoutMs = 60_000;

export default async function setup(): Promise<() => Promise<void>> {
  const fixture = spawn(process.execPath, ['test/support/regional-fixture.ts', String(workersTestRegionalPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`regional fixture not ready in ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
    fixture.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('regional-fixture: ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    fixture.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    fixture.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`regional fixture exited with ${code}:\n${output}`));
    });
  });
  return async () => {
    const exited = new Promise((resolve) => fixture.once('exit', resolve));
    fixture.kill('SIGTERM');
    await exited;
  };
}
