/**
 * Fault injection around the drizzle handle the commit uses. The settlement transaction itself
 * runs for real; the fault is raised around it, as the driver would raise it:
 * - 'rolled-back': the transaction body runs, then the error aborts it (nothing is stored) —
 *   what a 40001 at COMMIT looks like;
 * - 'committed': the transaction commits, then the error surfaces — what 40003 or a connection
 *   lost during COMMIT looks like to the client.
 * `gated` holds a transaction open after its body until released, to force real overlap.
 */
import type { RegionalOrm } from '../../../regional/db/client.ts';

export interface TransactionFault {
  code: string;
  outcome: 'rolled-back' | 'committed';
}

export function injectedDriverError(code: string): Error {
  // The shape postgres.js gives its errors: a `code` with the SQLSTATE or the connection code.
  return Object.assign(new Error(`injected fault ${code}`), { code, severity: 'ERROR' });
}

type TransactionFunction = RegionalOrm['transaction'];

function wrapTransaction(orm: RegionalOrm, transaction: (original: TransactionFunction) => TransactionFunction): RegionalOrm {
  const original = orm.transaction.bind(orm) as TransactionFunction;
  const replaced = transaction(original);
  return new Proxy(orm, {
    get(target, property, receiver) {
      return property === 'transaction' ? replaced : Reflect.get(target, property, receiver);
    },
  });
}

export function withTransactionFaults(faults: TransactionFault[]): (orm: RegionalOrm) => RegionalOrm {
  return (orm) =>
    wrapTransaction(orm, (original) => (async (run, config) => {
      const fault = faults.shift();
      if (fault === undefined) return original(run, config);
      if (fault.outcome === 'committed') {
        await original(run, config);
        throw injectedDriverError(fault.code);
      }
      return original(async (tx) => {
        await run(tx);
        throw injectedDriverError(fault.code);
      }, config);
    }) as TransactionFunction);
}

export interface Gate {
  /** Resolves once a transaction body has finished and is being held open. */
  reached: Promise<void>;
  release(): void;
}

export function gatedTransactions(): { gate: Gate; wrapOrm: (orm: RegionalOrm) => RegionalOrm } {
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
  return {
    gate: { reached: reachedPromise, release },
    wrapOrm: (orm) =>
      wrapTransaction(orm, (original) => ((run, config) =>
        original(async (tx) => {
          const result = await run(tx);
          reached();
          await released;
          return result;
        }, config)) as TransactionFunction),
  };
}
