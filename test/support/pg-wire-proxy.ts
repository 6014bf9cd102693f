/**
 * A TCP proxy in front of PostgreSQL or PGlite that reads the client side of the wire protocol
 * and can cut a connection at a chosen statement — the fault a dropped network, a failed-over
 * database or a killed process produces, on either database, at an exact point of the settlement
 * transaction:
 *   'drop'          the statement never reaches the server; both sockets close, so the server
 *                   rolls the open transaction back and the client sees its connection die;
 *   'lose-answer'   the statement reaches the server and runs to its ReadyForQuery, but the
 *                   answer is swallowed and the client's socket closed: for COMMIT, a commit
 *                   that happened while the client saw its connection fail.
 * `observe` only reports the statement (a hook for SIGKILL-ing a process mid-transaction).
 *
 * Frontend messages (PostgreSQL protocol v3): an untyped startup packet (int32 length, then the
 * body; SSLRequest/GSSENCRequest are followed by another untyped packet), then typed messages
 * (1 type byte, int32 length including itself). Statement text is in Query ('Q') and Parse ('P');
 * it runs at Query or at Execute ('E') of the portal Bind ('B') made from the parsed statement.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type WireFaultAction = 'drop' | 'lose-answer' | 'observe';

export interface WireFault {
  /** Matched against the statement text (simple or extended protocol). */
  statement: RegExp;
  action: WireFaultAction;
  /** Resolves once the fault fired. */
  fired: Promise<void>;
}

export interface PgWireProxy {
  /** The target URL with host and port replaced by the proxy's. */
  url: string;
  /** Arms a one-shot fault for the next statement matching `statement`, on any connection. */
  arm(statement: RegExp, action: WireFaultAction): WireFault;
  /** Cuts every open connection now, wherever its client is (between statements, say). */
  disconnectAll(): void;
  /**
   * Sockets still open, client and server side. After a client dies, its server side closes only
   * once the server has read to the end of what it was sent (a COMMIT on the wire included).
   */
  openSockets(): number;
  /** Statements seen so far (text only), for assertions and debugging. */
  statements: string[];
  close(): Promise<void>;
}

const untypedRequestCodes = new Set([80877103 /* SSLRequest */, 80877104 /* GSSENCRequest */]);

export async function startPgWireProxy(targetUrl: string): Promise<PgWireProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || '5432');
  const armed: Array<{ statement: RegExp; action: WireFaultAction; fire: () => void }> = [];
  const statements: string[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    let pending = Buffer.alloc(0);
    let untyped = true;
    // Statement text by prepared-statement name ('' = unnamed), and the portal's statement: with
    // named statements a repeat execution is only Bind + Execute, so text is tracked to Execute.
    const prepared = new Map<string, string>();
    const portal: { statement?: string } = {};
    let cut = false;
    const closeBoth = () => {
      cut = true;
      client.destroy();
      upstream.end();
    };
    upstream.on('data', (chunk: Buffer) => {
      if (!cut) client.write(chunk);
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.end());
    client.on('end', () => upstream.end());
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      pending = Buffer.concat([pending, chunk]);
      // Forward whole messages one by one, so a fault lands exactly at its statement.
      for (;;) {
        const headerBytes = untyped ? 4 : 5;
        if (pending.length < headerBytes) return;
        const length = pending.readInt32BE(untyped ? 0 : 1);
        const messageBytes = untyped ? length : length + 1;
        if (pending.length < messageBytes) return;
        const message = pending.subarray(0, messageBytes);
        pending = pending.subarray(messageBytes);
        if (untyped) {
          untyped = length === 8 && untypedRequestCodes.has(message.readInt32BE(4));
          upstream.write(message);
          continue;
        }
        const statement = executedStatement(message, prepared, portal);
        if (statement !== undefined) statements.push(statement);
        const faultIndex = statement === undefined ? -1 : armed.findIndex((fault) => fault.statement.test(statement));
        if (faultIndex === -1) {
          upstream.write(message);
          continue;
        }
        const [fault] = armed.splice(faultIndex, 1);
        if (fault!.action === 'observe') {
          fault!.fire();
          upstream.write(message);
          continue;
        }
        if (fault!.action === 'drop') {
          closeBoth();
          fault!.fire();
          return;
        }
        // lose-answer: the rest of this client write (the Sync) goes too; the server's answer is
        // swallowed, and only its ReadyForQuery — the statement has run — cuts the client off.
        cut = true;
        upstream.write(Buffer.concat([message, pending]));
        let answer = Buffer.alloc(0);
        upstream.on('data', (data: Buffer) => {
          answer = Buffer.concat([answer, data]);
          if (answer.includes(readyForQuery)) {
            client.destroy();
            upstream.end();
            fault!.fire();
          }
        });
        return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    statements,
    openSockets: () => sockets.size,
    disconnectAll() {
      for (const socket of sockets) socket.destroy();
    },
    arm(statement, action) {
      let fire!: () => void;
      const fired = new Promise<void>((resolve) => (fire = resolve));
      armed.push({ statement, action, fire });
      return { statement, action, fired };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const readyForQuery = Buffer.from([0x5a, 0, 0, 0, 5]);

/**
 * The statement a message makes the server run: a Query's text, or at Execute the text of the
 * statement bound to the portal. Parse and Bind only update the bookkeeping.
 */
function executedStatement(message: Buffer, prepared: Map<string, string>, portal: { statement?: string }): string | undefined {
  const type = String.fromCharCode(message[0]!);
  const cString = (start: number): [string, number] => {
    const end = message.indexOf(0, start);
    return [message.toString('utf8', start, end), end + 1];
  };
  if (type === 'Q') return cString(5)[0];
  if (type === 'P') {
    const [name, next] = cString(5);
    prepared.set(name, cString(next)[0]);
  } else if (type === 'B') {
    const [, next] = cString(5);
    const [name] = cString(next);
    portal.statement = prepared.get(name);
  } else if (type === 'E') {
    return portal.statement;
  }
  return undefined;
}
