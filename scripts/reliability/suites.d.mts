/** What every suite needs from its caller: fresh databases on one Postgres, and a progress log. */
export interface Harness {
  createDatabase(prefix?: string): Promise<string>;
  log?(line: string): void;
}

export interface SuiteResult {
  suite: string;
  runs: number;
  failures: number;
  partialStates: number;
  figures: Record<string, unknown>;
  /** Issues reported without failing the suite (outside envmgr's reach, or for the lead to route). */
  findings: string[];
  problems: string[];
}

export const FAULT_KINDS: readonly string[];
export const FUZZ_TARGETS: readonly string[];

export function crashSuite(h: Harness, opts: { connections: number; kills: number; seed?: number }): Promise<SuiteResult>;
export function concurrencySuite(h: Harness, opts: { clients: number; connections: number; rounds: number }): Promise<SuiteResult>;
export function faultSuite(
  h: Harness,
  opts: { connections: number; randomRuns: number; kinds?: string[]; modes?: Array<'first' | 'always' | 'random'>; seed?: number },
): Promise<SuiteResult>;
export function startFaultProxy(
  upstream: string,
  decide: (index: number) => string | undefined,
  opts?: { delayMs?: number },
): Promise<{ url: string; faults: Record<string, number>; readonly requests: number; close(): Promise<void> }>;
export function loadSuite(h: Harness, opts: { clients: number; seconds: number; seedObjects?: number; seed?: number }): Promise<SuiteResult>;
export function badInputSuite(h: Harness, opts?: { sample?: number; concurrency?: number }): Promise<SuiteResult>;
export function corpusCases(sample?: number): Promise<Array<{ kind: string; name: string; path: string }>>;
export function fuzzSuite(h: Harness, opts: { runs: number; targets?: string[]; seed?: number; hangMs?: number }): Promise<SuiteResult>;
export function securitySuite(h: Harness, opts?: { authzMatrix?: boolean; failedAuthAttempts?: number }): Promise<SuiteResult>;
