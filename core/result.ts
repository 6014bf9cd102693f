/** Domain failures are values: callers switch on `reason.kind` and map it to the wire. */
export type Result<T, E extends { kind: string }> = { ok: true; value: T } | { ok: false; reason: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E extends { kind: string }>(reason: E): { ok: false; reason: E } {
  return { ok: false, reason };
}
