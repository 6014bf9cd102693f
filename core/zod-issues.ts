import type { z } from 'zod';

/** Issues reported per parse; beyond this a hostile body only produces more log volume. */
export const issuesMax = 20;

function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** Unknown field names echoed per issue; the rest are counted. */
export const unknownFieldsListedMax = 5;
/** Echoed field names are cut to this length so a hostile key cannot flood logs or answers. */
export const fieldNameEchoLengthMax = 64;

function unknownFieldsMessage(keys: readonly string[]): string {
  const listed = keys.slice(0, unknownFieldsListedMax).map((key) => `'${key.slice(0, fieldNameEchoLengthMax)}'`);
  const more = keys.length > unknownFieldsListedMax ? ` and ${keys.length - unknownFieldsListedMax} more` : '';
  return `unknown field${keys.length > 1 ? 's' : ''} ${listed.join(', ')}${more}`;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return unknownFieldsMessage(issue.keys);
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return 'required';
  return issue.message;
}

/** Short, readable "<field path>: <problem>" lines, safe to show a partner's integration engineer. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.slice(0, issuesMax).map((issue) => `${issuePath(issue.path)}: ${issueMessage(issue)}`);
}
