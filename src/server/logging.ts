/**
 * Server logs: one JSON object per line. Entries are built from fixed fields only (never headers, bodies or query
 * values), which is what keeps tokens and secrets out of them.
 */
export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

export type ServerLogger = (entry: LogEntry) => void;

export function jsonLineLogger(stream: NodeJS.WritableStream): ServerLogger {
  return (entry) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  };
}

export const silentLogger: ServerLogger = () => undefined;
