/**
 * Ports for a test's own servers when a child process or a config needs them fixed before it
 * starts (the regional fixture takes a first port and listens on it and the next ones).
 */
import { createServer } from 'node:net';

/**
 * Below Linux's default ephemeral range (32768–60999): a port picked in that range can be taken
 * meanwhile by any outgoing connection on the machine, which made the SDK README test flake.
 */
const candidateFirst = 20_000;
const candidateLast = 32_000;

/** A base port with `count` consecutive free ports from it (checked by binding each once). */
export async function freePortRange(count: number): Promise<number> {
  const canBind = (port: number) =>
    new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = candidateFirst + Math.floor(Math.random() * (candidateLast - candidateFirst - count));
    let free = true;
    for (let offset = 0; offset < count && free; offset++) free = await canBind(base + offset);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found between ${candidateFirst} and ${candidateLast}`);
}
