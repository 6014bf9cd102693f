/**
 * The embedded store's keyspace: string values with an optional absolute expiry.
 *
 * Layout: `entries` maps a key to `{ value, expiresAtMs }` (ms since the epoch, as Redis keeps
 * it); `volatileKeys` holds exactly the keys that carry an expiry, so the sweep never walks
 * persistent keys. Expiry works as in Redis: a key is dropped lazily when it is touched after its
 * deadline, and a periodic sweep (`sweep`, driven by the backend's timer) reclaims keys nobody
 * touches again, a bounded number per tick.
 */
export interface KeyspaceEntry {
  readonly value: string;
  readonly expiresAtMs: number | undefined;
}

export interface KeyspaceOptions {
  /** Wall clock in ms; injectable so expiry can be tested without waiting. */
  now: () => number;
  /** Beyond this many keys, writes that would create a key are refused (Redis' `noeviction`). */
  keysMax: number;
}

export class Keyspace {
  readonly now: () => number;
  readonly #keysMax: number;
  readonly #entries = new Map<string, KeyspaceEntry>();
  readonly #volatileKeys = new Set<string>();
  #sweepCursor: Iterator<string> | undefined;

  constructor(options: KeyspaceOptions) {
    this.now = options.now;
    this.#keysMax = options.keysMax;
  }

  get keyCount(): number {
    return this.#entries.size;
  }

  /** The live entry, or undefined; an entry past its deadline is deleted on the way. */
  read(key: string): KeyspaceEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs !== undefined && this.now() > entry.expiresAtMs) {
      this.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores the value; false (and nothing stored) when it would create a key beyond `keysMax`. */
  write(key: string, value: string, expiresAtMs: number | undefined): boolean {
    if (this.read(key) === undefined && this.#entries.size >= this.#keysMax) return false;
    this.#entries.set(key, { value, expiresAtMs });
    if (expiresAtMs === undefined) this.#volatileKeys.delete(key);
    else this.#volatileKeys.add(key);
    return true;
  }

  delete(key: string): boolean {
    this.#volatileKeys.delete(key);
    return this.#entries.delete(key);
  }

  /** Deletes expired keys among at most `keysBudget` volatile keys, resuming where the last sweep stopped. */
  sweep(keysBudget: number): number {
    let expiredCount = 0;
    const nowMs = this.now();
    for (let visited = 0; visited < keysBudget; visited += 1) {
      this.#sweepCursor ??= this.#volatileKeys.values();
      const next = this.#sweepCursor.next();
      if (next.done === true) {
        this.#sweepCursor = undefined;
        break;
      }
      const expiresAtMs = this.#entries.get(next.value)?.expiresAtMs;
      if (expiresAtMs !== undefined && nowMs > expiresAtMs) {
        this.delete(next.value);
        expiredCount += 1;
      }
    }
    return expiredCount;
  }
}
