/**
 * The payment route's exit for a new admission: counts it (accepted | held; a concurrent repeat
 * that PartnerState answered from the first admission is not counted again) and writes the edge's
 * line for the payment — its UETR under the request's trace id, the line that joins the partner's
 * request to PartnerState's `payment admitted` and the window's `payment placed` lines.
 */
import type { Context } from 'hono';
import type { PaymentAnswer } from '../../durable-objects/partner-state/partner-state.ts';
import { edgeLog } from './edge-log.ts';
import { admissionEvent, recordEdgeEvents } from './record-edge-event.ts';

export function recordAdmission(c: Context, admitted: { answer: PaymentAnswer; repeat: boolean }): void {
  const { answer, repeat } = admitted;
  edgeLog(c, 'info', 'payment answered', { uetr: answer.uetr, status: answer.status, window: answer.window, repeat });
  if (!repeat) recordEdgeEvents(c, [admissionEvent(answer.status)]);
}
