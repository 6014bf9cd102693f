import type { Env } from '../../workers/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends import('../../workers/env.ts').Env {}
  }
}
export type { Env };
