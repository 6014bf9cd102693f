/** Worker entry: the Hono gateway plus the Durable Object classes wrangler.toml binds. */
import { createGatewayApp } from './app.ts';

export { PartnerState } from '../durable-objects/partner-state/partner-state.ts';
export { CorridorWindow } from '../durable-objects/corridor-window/corridor-window.ts';
export { Control } from '../durable-objects/control/control.ts';
export { BackendHealth } from '../durable-objects/corridor-window/backend-health-object.ts';
export { EdgeMetrics } from '../durable-objects/edge-metrics/edge-metrics.ts';

export default createGatewayApp();
