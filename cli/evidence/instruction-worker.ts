/**
 * Worker thread of ./check-instructions.ts: built with the bundle's partner keys and gateway JWKS
 * (workerData), it answers each chunk of instruction items with their verdicts (digest and failures), in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InstructionItem } from './bundle-format.ts';
import { instructionChecker, type InstructionKeys } from './check-instructions.ts';

const check = instructionChecker(workerData as InstructionKeys);
parentPort!.on('message', (chunk: InstructionItem[]) => {
  parentPort!.postMessage(chunk.map(check));
});
