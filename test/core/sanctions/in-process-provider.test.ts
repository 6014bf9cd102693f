import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createInProcessProvider } from '../../../core/sanctions/in-process-provider.ts';
import { loadOfacCsv } from '../../../core/sanctions/lists.ts';

const loaded = loadOfacCsv({
  sdn: readFileSync(new URL('../../../dev/sanctions/sdn.csv', import.meta.url)),
  alt: readFileSync(new URL('../../../dev/sanctions/alt.csv', import.meta.url)),
  loadedAt: '2026-12-01T00:00:00Z',
});
if (!loaded.ok) throw new Error(JSON.stringify(loaded.reason));
const list = loaded.value;

describe('in-process screening provider', () => {
  const provider = createInProcessProvider(list, { threshold: 0.85 });

  it('screens debtor and creditor against every alias and says which party matched', async () => {
    const screened = await provider.screen(
      [
        { role: 'debtor', name: 'Helga Johansson' },
        { role: 'creditor', name: 'Central Bank of Iran' },
      ],
      new AbortController().signal,
    );
    expect(screened).toEqual({
      ok: true,
      value: {
        outcome: 'possible-match',
        matches: [
          {
            party: 'creditor',
            screenedName: 'Central Bank of Iran',
            entryId: 'ofac-sdn:4632',
            listedName: 'BANK MARKAZI JOMHOURI ISLAMI IRAN',
            matchedAlias: 'CENTRAL BANK OF IRAN',
            score: 1,
            algorithm: 'meridian-jw-dmetaphone/3',
          },
        ],
        listVersion: { digest: list.version, loadedAt: '2026-12-01T00:00:00Z' },
        threshold: 0.85,
        providerId: 'in-process',
      },
    });
  });

  it('is clear for ordinary names, with the same list version and threshold recorded', async () => {
    const screened = await provider.screen(
      [
        { role: 'debtor', name: 'Aiko Tanaka' },
        { role: 'creditor', name: 'Nordwind Logistik GmbH' },
      ],
      new AbortController().signal,
    );
    expect(screened).toMatchObject({ ok: true, value: { outcome: 'clear', matches: [], threshold: 0.85, listVersion: { digest: list.version } } });
  });

  it('does not answer clear once its deadline has passed', async () => {
    const expired = AbortSignal.abort();
    const screened = await provider.screen([{ role: 'debtor', name: 'Aiko Tanaka' }], expired);
    expect(screened).toMatchObject({ ok: false, reason: { kind: 'provider-timeout' } });
  });
});
