/** Starts the local World-Check One server (world-check-server.ts) for the workerd screening suite and provides its URL. */
import type { TestProject } from 'vitest/node';
import { startWorldCheckServer } from './world-check-server.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startWorldCheckServer();
  project.provide('worldCheckUrl', server.url);
  return () => server.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    worldCheckUrl: string;
  }
}
