/**
 * The partner directory in Control's storage (being built: see the ops-console work). Until it is,
 * partner-key changes are refused at proposal time.
 */
import type { ChangeProposal, ChangeRejection } from '../../core/ops-changes.ts';
import { err, type Result } from '../../core/result.ts';
import type { DurableObjectsEnv } from '../env.ts';

type PartnerKeyChange = Extract<ChangeProposal, { kind: 'partner-key' }>;

export class PartnerDirectory {
  constructor(_storage: DurableObjectStorage, _env: DurableObjectsEnv) {}

  checkKeyChange(_proposal: PartnerKeyChange): Result<null, ChangeRejection> {
    return err({ kind: 'invalid-change', detail: 'partner-key changes are not available yet' });
  }

  applyKeyChange(_proposal: PartnerKeyChange): Result<Record<string, unknown>, ChangeRejection> {
    return err({ kind: 'invalid-change', detail: 'partner-key changes are not available yet' });
  }

  async propagate(_proposal: ChangeProposal): Promise<void> {}
}
