import type pg from 'pg';
import type { ObjectService } from '../objects.js';
import type { ServerConfig } from '../config.js';

/** What every route plugin gets: the process's one pool, the configuration and the object service. */
export interface RouteContext {
  pool: pg.Pool;
  config: ServerConfig;
  objects: ObjectService;
}
