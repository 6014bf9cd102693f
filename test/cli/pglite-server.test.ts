/**
 * The embedded database is shared by two regional processes per jurisdiction, so what matters is
 * what several client connections see through the one PGlite backend.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgliteServer, type PgliteServer } from '../../cli/dev/pglite-server.ts';

let server: PgliteServer;

beforeAll(async () => {
  server = await startPgliteServer({ port: 0 });
  const setup = postgres(server.connectionString, { max: 1, onnotice: () => {} });
  await setup`create table stamps (id uuid primary key, at timestamptz not null)`;
  await setup`create table rows_by_n (n int not null, label text not null, amount numeric(38,0) not null)`;
  await setup`create table counter (id int primary key, value bigint not null)`;
  await setup`insert into counter values (1, 0)`;
  await setup.end();
});

afterAll(async () => {
  await server.stop();
});

describe('PGlite over the wire, several clients', () => {
  it('keeps each connection\'s unnamed-statement conversation whole (drizzle\'s query path)', async () => {
    // prepare: false is what drizzle's postgres-js session uses: Parse/Describe/Sync on the unnamed
    // statement, then Bind/Execute/Sync. Interleaved with another client, the second half binds the wrong query.
    const clients = Array.from({ length: 3 }, () => postgres(server.connectionString, { max: 2, prepare: false, onnotice: () => {} }));
    const failures: string[] = [];
    await Promise.all(
      clients.map(async (sql, client) => {
        for (let index = 0; index < 200; index += 1) {
          try {
            if ((index + client) % 2 === 0) {
              await sql`insert into stamps (id, at) values (${crypto.randomUUID()}, ${new Date()})`;
            } else {
              const n = client * 1000 + index;
              await sql`insert into rows_by_n (n, label, amount) values (${n}, ${`row ${n}`}, ${'123456789012345678'})`;
              const [row] = await sql`select n, label, amount from rows_by_n where n = ${n}`;
              if (row?.label !== `row ${n}` || row?.amount !== '123456789012345678') failures.push(`row ${n} read back as ${JSON.stringify(row)}`);
            }
          } catch (cause) {
            failures.push((cause as Error).message);
          }
        }
      }),
    );
    await Promise.all(clients.map((sql) => sql.end()));
    expect(failures).toEqual([]);
  });

  it('keeps read-modify-write transactions of different clients isolated', async () => {
    const clients = Array.from({ length: 2 }, () => postgres(server.connectionString, { max: 2, onnotice: () => {} }));
    const incrementsPerClient = 40;
    await Promise.all(
      clients.map(async (sql) => {
        for (let index = 0; index < incrementsPerClient; index += 1) {
          await sql.begin('isolation level serializable', async (tx) => {
            const [row] = await tx`select value from counter where id = 1`;
            await tx`update counter set value = ${(BigInt(row?.value as string) + 1n).toString()} where id = 1`;
          });
        }
      }),
    );
    const [row] = await clients[0]!`select value from counter where id = 1`;
    await Promise.all(clients.map((sql) => sql.end()));
    expect(row?.value).toBe(String(clients.length * incrementsPerClient));
  });
});
