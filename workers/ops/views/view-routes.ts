/** Read-only views of the ops console (windows, security events, backends, keys). */
import type { Hono } from 'hono';
import type { OpsApp } from '../ops-routes.ts';

export function viewRoutes(_ops: Hono<OpsApp>): void {}
