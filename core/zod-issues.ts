import type { z } from 'zod';

/** Issues reported per parse; beyond this a hostile body only produces more log volume. */
export const issuesMax = 20;

function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `'${key}'`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return 'required';
  return issue.message;
}

/** Short, readable "<field path>: <problem>" lines, safe to show a partner's integration engineer. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.slice(0, issuesMax).map((issue) => `${issuePath(issue.path)}: ${issueMessage(issue)}`);
}
