/**
 * @meridian/partner-sdk — runtime-neutral (WebCrypto, fetch): Node ≥ 22, workerd, browsers.
 * Node-only helpers (the TLS probe) are in '@meridian/partner-sdk/node'.
 */
export * from './meridian-client.ts';
export * from './partner-client.ts';
export * from './instruction-builder.ts';
export * from './keys.ts';
export * from './receipts.ts';
export * from './retry-policy.ts';
