import type pg from 'pg';

/**
 * `COPY … FROM STDIN` over node-postgres, without a dependency: a query object that node-postgres drives like any
 * other (it implements the Submittable hooks) and that answers the server's CopyInResponse by writing the chunks it
 * is given as CopyData messages. Chunks are produced lazily, so that the caller can encrypt and serialize the next
 * rows while Postgres ingests the previous ones; the socket's backpressure is honoured.
 */

/** The part of node-postgres' internal Connection that COPY needs (stable across pg 8). */
interface CopyConnection {
  query(text: string): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean; writable: boolean };
}

export type CopyChunks = Iterable<Buffer | string> | AsyncIterable<Buffer | string>;

/**
 * A CopyData message: its 5-byte header ('d', the length) and the chunk as it is, written to the socket directly.
 * (node-postgres' sendCopyFromChunk copies every chunk into its message writer first, which for the few hundred
 * kilobytes of a batch means allocating and copying it several times.)
 */
function sendCopyData(connection: CopyConnection, chunk: Buffer): void {
  if (chunk.length === 0 || !connection.stream.writable) return;
  const header = Buffer.allocUnsafe(5);
  header[0] = 0x64;
  header.writeInt32BE(chunk.length + 4, 1);
  connection.stream.write(header);
  connection.stream.write(chunk);
}

/**
 * The CopyDone message; `onSent` is called once it (and so every row before it) has been handed to the socket, from
 * where Postgres reads the rest without Node's help.
 */
function sendCopyDone(connection: CopyConnection, onSent?: () => void): void {
  if (!connection.stream.writable) return;
  connection.stream.write(COPY_DONE, onSent && (() => onSent()));
}

const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

class CopyFromStdin {
  callback?: (err: Error | null, rowCount?: number) => void;
  private error: Error | null = null;
  private rowCount = 0;

  constructor(
    readonly text: string,
    private readonly chunks: CopyChunks,
    private readonly onSent?: () => void,
  ) {}

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    void this.pump(connection);
  }

  private async pump(connection: CopyConnection): Promise<void> {
    try {
      // The next chunk is produced as soon as the last one is written, and waits for the socket to drain (if it
      // must) only then: the end of the data never waits for a drain, nor for whatever runs on the event loop's next turn.
      for await (const chunk of this.chunks) {
        if (this.error) break; // the server already refused (e.g. a unique violation): stop producing
        if (connection.stream.writableNeedDrain) await new Promise((resolve) => connection.stream.once('drain', resolve));
        if (this.error) break;
        sendCopyData(connection, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      }
      if (this.error) connection.endCopyFrom();
      else sendCopyDone(connection, this.onSent);
    } catch (err) {
      // A failure while producing rows (not the server's): abort the COPY, which fails the statement.
      this.error ??= err instanceof Error ? err : new Error(String(err));
      connection.sendCopyFail('envmgr: aborted while producing rows');
    }
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /(\d+)$/.exec(msg.text ?? '');
    this.rowCount = m ? Number(m[1]) : 0;
  }

  /**
   * The server refused the statement: node-postgres then forgets this query (ReadyForQuery will not reach it), so
   * the outcome is reported now. Rows still being produced are not sent; a CopyData or CopyDone that was already
   * under way is ignored by the server, as the protocol specifies.
   */
  handleError(err: Error): void {
    // Keep the first error: one raised while producing rows explains the server's "COPY from stdin failed".
    this.error ??= err;
    this.finish();
  }

  handleReadyForQuery(): void {
    this.finish();
  }

  private finish(): void {
    const cb = this.callback;
    this.callback = undefined;
    cb?.(this.error, this.rowCount);
  }

  // Not expected for COPY FROM; present because node-postgres may call them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

export interface CopyOptions {
  /**
   * Called once the last row and the end of the data are on the socket (not when Postgres has taken them in): work
   * that can wait for the COPY starts then, and does not hold back the rows' last bytes by taking the event loop.
   */
  onSent?: () => void;
}

/** Runs `COPY <table> (<columns>) FROM STDIN` with the given chunks of COPY text; resolves to the rows copied. */
export function copyFrom(client: pg.ClientBase, sql: string, chunks: CopyChunks, options: CopyOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const query = new CopyFromStdin(sql, chunks, options.onSent);
    query.callback = (err, rowCount) => (err ? reject(err) : resolve(rowCount ?? 0));
    (client as unknown as { query(q: unknown): void }).query(query);
  });
}
