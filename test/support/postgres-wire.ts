/** What a client asked PostgreSQL (or a pooler) to run, read off the wire. */
export interface WireStatement {
  /** The prepared statement's name: '' for the unnamed statement and for a simple query. */
  name: string;
  sql: string;
}

/** SSLRequest and GSSENCRequest: untyped requests a client may send before its startup message. */
const PRE_STARTUP_CODES = new Set([80_877_103, 80_877_104]);

/**
 * Reads the frontend side of one connection in PostgreSQL's protocol (v3, no TLS): every Parse and
 * simple Query, and the statement names a Bind refers to. Fed chunk by chunk as they arrive.
 */
export class FrontendWire {
  readonly statements: WireStatement[] = [];
  /** Statement names Bind messages executed ('' for the unnamed statement is not listed). */
  readonly boundNames: string[] = [];
  private buffer = Buffer.alloc(0);
  private beforeStartup = true;

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.beforeStartup) {
        // Untyped: int32 length (itself included), int32 protocol version or request code, then fields.
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        this.buffer = this.buffer.subarray(length);
        if (!PRE_STARTUP_CODES.has(code)) this.beforeStartup = false;
        continue;
      }
      // Typed: one byte, int32 length (itself included, the type byte not), body.
      if (this.buffer.length < 5) return;
      const type = String.fromCharCode(this.buffer[0]!);
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      const body = this.buffer.subarray(5, 1 + length);
      this.buffer = this.buffer.subarray(1 + length);
      if (type === 'P') {
        const [name, sql] = cStrings(body, 2);
        this.statements.push({ name: name!, sql: sql! });
      } else if (type === 'Q') {
        this.statements.push({ name: '', sql: cStrings(body, 1)[0]! });
      } else if (type === 'B') {
        const [, statement] = cStrings(body, 2);
        if (statement) this.boundNames.push(statement);
      }
    }
  }
}

function cStrings(body: Buffer, count: number): string[] {
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const end = body.indexOf(0, at);
    out.push(body.toString('utf8', at, end));
    at = end + 1;
  }
  return out;
}

/** What a wire recorder saw (see test/store/fixtures/wire-recorder.ts). */
export interface WireReport {
  total: number;
  /** Each distinct statement once. */
  statements: WireStatement[];
  boundNames: string[];
}
