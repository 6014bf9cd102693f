/**
 * Which gateway a command talks to, and the message when it cannot be reached: the usual cause
 * locally is that `npm start` is not running, or MERIDIAN_GATEWAY points somewhere else.
 */
import type { CommandIo } from './command.ts';

/** One request to the gateway gives up after this long (a hung connection is reported, not waited on). */
export const gatewayRequestTimeoutMs = 15_000;

export interface Gateway {
  url: string;
  /** Where the URL came from, for the unreachable message: `MERIDIAN_GATEWAY=…`, `--gateway …`. */
  origin: string;
}

/** `--gateway` if given, else MERIDIAN_GATEWAY, else npm start's gateway; undefined when not a URL. */
export async function resolveGateway(io: CommandIo, flag?: string): Promise<Gateway | undefined> {
  const fromEnv = io.env.MERIDIAN_GATEWAY;
  const gateway =
    flag !== undefined
      ? { url: flag, origin: `--gateway ${flag}` }
      : fromEnv !== undefined && fromEnv !== ''
        ? { url: fromEnv, origin: `MERIDIAN_GATEWAY=${fromEnv}` }
        : await launcherGateway();
  return /^https?:\/\/[^\s/]+/.test(gateway.url) && URL.canParse(gateway.url) ? gateway : undefined;
}

async function launcherGateway(): Promise<Gateway> {
  // The launcher module pulls in postgres and the migrations: loaded only when a command needs the default.
  const { gatewayUrl } = await import('./dev/launcher.ts');
  return { url: gatewayUrl, origin: `MERIDIAN_GATEWAY unset, so npm start's ${gatewayUrl}` };
}

/** The one line for a failed fetch to the gateway, or undefined when `error` is not a network failure. */
export function unreachableMessage(error: unknown, gateway: Gateway): string | undefined {
  const reason = networkFailure(error);
  if (reason === undefined) return undefined;
  return `cannot reach the gateway at ${gateway.url} (${reason}); is \`npm start\` running? (${gateway.origin})`;
}

function networkFailure(error: unknown): string | undefined {
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${gatewayRequestTimeoutMs} ms`;
  if (!(error instanceof TypeError) || !/fetch failed/.test(error.message)) return undefined;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  // undici refuses the Fetch standard's blocked ports (1, 22, 25, …) without connecting.
  if (cause?.message === 'bad port') return 'a port fetch never connects to: pick another';
  return String(cause?.code ?? cause?.message ?? error.message);
}

/** A fetch that failed on the wire (refused, reset, closed mid-answer): an operating error, not a bug. */
export function connectionFailure(error: unknown): string | undefined {
  if (!(error instanceof TypeError) || !/^(fetch failed|terminated)$/.test(error.message)) return undefined;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  return cause === undefined ? error.message : `${error.message}: ${String(cause.code ?? cause.message)}`;
}
