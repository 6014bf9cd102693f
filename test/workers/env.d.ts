import type { Env as MeridianEnv } from '../../workers/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends MeridianEnv {}
  }
}
