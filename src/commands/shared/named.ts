import type { Context } from '../../cli/context.js';
import { UsageError, UserError } from '../../cli/errors.js';
import { findByIdOrName, findNamed } from './pick.js';

/** An id as the Astro API and envmgr's server make them (a cuid: `c` and 24 lowercase alphanumerics). */
const CUID = /^c[a-z0-9]{24}$/;

export type NamedKind = 'deployment' | 'workspace';

/** A value as one shell word, for a command a message tells the user to run: as it is when safe, else single-quoted. */
export function shellWord(value: string): string {
  return /^[\w.,:@%+=/-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Refuses a deployment or workspace flag given a blank value (`-d "$UNSET"`): that is a mistake, never "not given",
 * which would act on another scope (the current workspace) without a word.
 */
export function refuseBlank(flags: Record<string, string | undefined>): void {
  for (const [flag, value] of Object.entries(flags)) {
    if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} needs an id or a name, not a blank value`);
  }
}

/**
 * Deployment and workspace flags that take an id or a name, as workspace switch, deployment list -w and dev start take
 * them: a value shaped like an id is used as it is (no request; a wrong one gets the server's answer), anything else is
 * looked up among the organization's deployments or workspaces, by id or name, and the id it named is said on
 * stderr. Each list is fetched at most once per command.
 */
export class NamedEntities {
  private readonly lists = new Map<NamedKind, Promise<Array<{ id: string; name: string; workspaceId?: string; workspaceName?: string }>>>();
  /** Values already resolved by name (each said once). */
  private readonly resolved = new Map<string, string>();

  constructor(private readonly ctx: Context) {}

  private list(kind: NamedKind): Promise<Array<{ id: string; name: string; workspaceId?: string; workspaceName?: string }>> {
    let list = this.lists.get(kind);
    if (!list) {
      list = (async () => {
        const api = await this.ctx.api();
        const { organizationId } = await this.ctx.session();
        return kind === 'deployment' ? api.deployments(organizationId) : api.workspaces(organizationId);
      })();
      this.lists.set(kind, list);
    }
    return list;
  }

  private found(kind: NamedKind, value: string, id: string): string {
    const key = `${kind}\u0000${value}`;
    if (id !== value && !this.resolved.has(key)) this.ctx.io.err(`${kind} ${JSON.stringify(value)} is ${id}\n`);
    this.resolved.set(key, id);
    return id;
  }

  /** `quiet`: a value the user did not type here (the configuration's), whose id is not worth a line on every run. */
  async id(kind: NamedKind, value: string, quiet = false): Promise<string> {
    if (CUID.test(value)) return value;
    const id = findNamed(await this.list(kind), value, kind).id;
    return quiet ? id : this.found(kind, value, id);
  }

  /**
   * A deployment of workspace `workspaceId`, as --link, --exclude, --include and link create -d name one: a name is
   * looked up among that workspace's deployments only (another workspace's of the same name is no ambiguity), and
   * one that names a deployment of another workspace says so (an object links only to its own workspace's).
   */
  async deploymentOf(workspaceId: string, value: string): Promise<string> {
    if (CUID.test(value)) return value;
    const all = await this.list('deployment');
    try {
      return this.found('deployment', value, findNamed(all.filter((d) => d.workspaceId === workspaceId), value, 'deployment').id);
    } catch (error) {
      // Not one of this workspace's: is it (just one) of another's, as findByIdOrName matches it?
      let elsewhere;
      try {
        elsewhere = findByIdOrName(all.filter((d) => d.workspaceId !== workspaceId), value, 'deployment');
      } catch {
        throw error;
      }
      if ((error as Error).message.startsWith('several ')) throw error;
      throw new UserError(
        `deployment ${JSON.stringify(value)} is in workspace ${elsewhere.workspaceName ? JSON.stringify(elsewhere.workspaceName) : elsewhere.workspaceId}, ` +
          `not this object's (${workspaceId}): an object links only to deployments of its own workspace`,
      );
    }
  }

  /** Each of `values` (deployments of `workspaceId`, by id or name) as an id, in order. */
  async deploymentsOf(workspaceId: string, values: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const value of values) out.push(await this.deploymentOf(workspaceId, value));
    return out;
  }
}
