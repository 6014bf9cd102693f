/**
 * One-line logs on stderr: `regional <region>: <message> <JSON context>`. Errors in the context
 * are expanded (message, code, cause) so the line alone is enough to act on.
 */
export interface RegionalLogger {
  info(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export function consoleLogger(region: string): RegionalLogger {
  const line = (message: string, context?: Record<string, unknown>) =>
    context === undefined ? `regional ${region}: ${message}` : `regional ${region}: ${message} ${JSON.stringify(context, errorReplacer)}`;
  return {
    info: (message, context) => console.log(line(message, context)),
    error: (message, context) => console.error(line(message, context)),
  };
}

export const silentLogger: RegionalLogger = { info: () => {}, error: () => {} };

const causeDepthMax = 4;

export function describeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const described: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) described.code = code;
  if (error.cause !== undefined && depth < causeDepthMax) described.cause = describeError(error.cause, depth + 1);
  if (depth === 0 && error.stack !== undefined) described.stack = error.stack.split('\n').slice(1, 6).map((frame) => frame.trim());
  return described;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return describeError(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}
