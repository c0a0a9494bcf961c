import type { Context } from '../../cli/context.js';
import { findNamed } from './pick.js';

/** An id as the Astro API and envmgr's server make them (a cuid: `c` and 24 lowercase alphanumerics). */
const CUID = /^c[a-z0-9]{24}$/;

export type NamedKind = 'deployment' | 'workspace';

/**
 * Deployment and workspace flags that take an id or a name, as workspace switch, deployment list -w and dev start take
 * them: a value shaped like an id is used as it is (no request; a wrong one gets the server's answer), anything else is
 * looked up among the organization's deployments or workspaces, by id or name, and the id it named is said on
 * stderr. Each list is fetched at most once per command.
 */
export class NamedEntities {
  private readonly lists = new Map<NamedKind, Promise<Array<{ id: string; name: string }>>>();

  constructor(private readonly ctx: Context) {}

  async id(kind: NamedKind, value: string): Promise<string> {
    if (CUID.test(value)) return value;
    let list = this.lists.get(kind);
    if (!list) {
      list = (async () => {
        const api = await this.ctx.api();
        const { organizationId } = await this.ctx.session();
        return kind === 'deployment' ? api.deployments(organizationId) : api.workspaces(organizationId);
      })();
      this.lists.set(kind, list);
    }
    const found = findNamed(await list, value, kind);
    if (found.id !== value) this.ctx.io.err(`${kind} ${JSON.stringify(value)} is ${found.id}\n`);
    return found.id;
  }

  /** Each of `values` (deployment ids or names, as --link and --exclude take them) as an id, in order. */
  async ids(kind: NamedKind, values: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const value of values) out.push(await this.id(kind, value));
    return out;
  }
}
