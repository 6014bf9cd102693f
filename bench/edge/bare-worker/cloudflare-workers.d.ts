/**
 * The few workerd types the bare Worker uses. bench/ is type-checked by the Node config
 * (tsconfig.json), which does not load @cloudflare/workers-types: declaring the surface here keeps
 * the Worker checked without dragging the Worker types into every Node file.
 */
declare module 'cloudflare:workers' {
  export interface SqlStorage {
    exec(query: string, ...bindings: unknown[]): unknown;
  }
  export interface DurableObjectState {
    storage: { sql: SqlStorage };
  }
  export class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}
