export * from './partner-client.ts';
export * from './instruction-builder.ts';
