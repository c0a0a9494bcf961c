import type { Harness } from '../../scripts/reliability/suites.mjs';
import { createTestDatabase } from '../support/pg.js';

/** The suites' harness on the test run's shared Postgres. */
export const harness: Harness = { createDatabase: (prefix?: string) => createTestDatabase(prefix ?? 'rel') };
