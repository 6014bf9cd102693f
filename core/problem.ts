/**
 * RFC 9457 problem details. The wire gets a stable slug (`urn:meridian:problem:<slug>`);
 * detailed reasons go to `detail` and to logs.
 */
export const problemStatus = {
  'bad-signature': 401,
  'stale-signature': 401,
  'replayed-nonce': 401,
  'content-digest-mismatch': 400,
  'unknown-partner': 401,
  'invalid-instruction': 422,
  'invalid-request': 400,
  'downgrade-detected': 403,
  'pq-required': 403,
  'duplicate-uetr-mismatch': 409,
  'corridor-closed': 409,
  'residency-denied': 403,
  'limit-exceeded': 403,
  'velocity-exceeded': 429,
  'velocity-unavailable': 503,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'not-found': 404,
  'unauthenticated': 401,
  'forbidden': 403,
  'four-eyes-required': 403,
  'change-expired': 409,
  'change-not-pending': 409,
  'invalid-change': 422,
  'method-not-allowed': 405,
  'unauthorized': 401,
  'batch-rejected': 422,
  'unavailable': 503,
  'misconfigured': 503,
  'internal': 500,
} as const;

export type ProblemSlug = keyof typeof problemStatus;

export const problemTypePrefix = 'urn:meridian:problem:';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/** The one HTTP error type: thrown anywhere in a request, turned into problem+json by `onError`. */
export class ProblemError extends Error {
  readonly kind = 'problem';
  readonly slug: ProblemSlug;
  readonly status: number;
  readonly extensions: Record<string, unknown>;

  constructor(slug: ProblemSlug, detail: string, extensions: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(detail, options);
    this.slug = slug;
    this.status = problemStatus[slug];
    this.extensions = extensions;
  }

  toBody(instance?: string): ProblemBody {
    const body: ProblemBody = {
      type: problemTypePrefix + this.slug,
      title: this.slug.replaceAll('-', ' '),
      status: this.status,
      detail: this.message,
      ...this.extensions,
    };
    if (instance !== undefined) body.instance = instance;
    return body;
  }

  getResponse(instance?: string): Response {
    return new Response(JSON.stringify(this.toBody(instance)), {
      status: this.status,
      headers: { 'content-type': 'application/problem+json' },
    });
  }
}

export function isProblemError(value: unknown): value is ProblemError {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'problem';
}

/** The slug of a problem+json body's `type`, or `internal` for anything that is not one of ours (a closed set, so a safe metric label). */
export function problemSlugOf(problemType: unknown): ProblemSlug {
  if (typeof problemType !== 'string' || !problemType.startsWith(problemTypePrefix)) return 'internal';
  const slug = problemType.slice(problemTypePrefix.length);
  return Object.hasOwn(problemStatus, slug) ? (slug as ProblemSlug) : 'internal';
}
