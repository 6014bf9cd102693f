// Moved to the partner SDK package (packages/partner-sdk); this re-export keeps existing importers working.
export * from '../../packages/partner-sdk/src/partner-client.ts';
