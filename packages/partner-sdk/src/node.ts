export * from './tls-probe.ts';
