import { describe, expect, it } from 'vitest';
import { ProblemError } from '../../core/problem.ts';

describe('ProblemError', () => {
  it('renders RFC 9457 problem+json with a urn slug', async () => {
    const response = new ProblemError('stale-signature', 'created is 900 s old').getResponse('/v1/payments');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:stale-signature', status: 401, instance: '/v1/payments' });
  });
});
