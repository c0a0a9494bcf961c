import { neutralizeControls } from '../../cli/text-width.js';
import type { Context } from '../../cli/context.js';
import { UserError } from '../../cli/errors.js';

/** Finds an item by id, else by exact name, else by case-insensitive name; an ambiguous name is an error. */
export function findByIdOrName<T extends { id: string; name: string }>(items: T[], wanted: string, what: string): T {
  const byId = items.find((i) => i.id === wanted);
  if (byId) return byId;
  const exact = items.filter((i) => i.name === wanted);
  const named = exact.length > 0 ? exact : items.filter((i) => i.name.toLowerCase() === wanted.toLowerCase());
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    // Deployments say whose they are: which one is meant is usually a question of workspace.
    const which = named.map((i) => {
      const owner = (i as { workspaceName?: unknown }).workspaceName;
      return typeof owner === 'string' ? `${i.id} in workspace ${neutralizeControls(owner)}` : i.id;
    });
    throw new UserError(`several ${what}s are named "${wanted}"; pass the id instead (${which.join(', ')})`);
  }
  const known = items.map((i) => `${neutralizeControls(i.name)} (${i.id})`).join(', ');
  throw new UserError(`no ${what} "${wanted}"${known ? `; available: ${known}` : ''}`);
}

/**
 * findByIdOrName for a value a flag gave: one that names nothing says what to pass and where to find it (several of
 * that name keep their own advice, the id).
 */
export function findNamed<T extends { id: string; name: string }>(items: T[], wanted: string, what: 'deployment' | 'workspace'): T {
  try {
    return findByIdOrName(items, wanted, what);
  } catch (notFound) {
    if (!(notFound instanceof UserError) || notFound.message.startsWith('several ')) throw notFound;
    throw new UserError(`${notFound.message}; pass its id or name (envmgr ${what === 'deployment' ? 'deployment list --all' : 'workspace list'} shows them)`);
  }
}

/** Prompts for one of several items (starting on `currentId`'s), naming `flag` when prompting is not possible. */
export async function promptForItem<T extends { id: string; name: string }>(
  ctx: Context,
  items: T[],
  message: string,
  flag: string,
  currentId?: string,
): Promise<T> {
  const current = items.find((i) => i.id === currentId);
  return ctx.prompter.select(
    message,
    items.map((i) => ({ name: `${neutralizeControls(i.name)} (${i.id})${i === current ? ' (current)' : ''}`, value: i })),
    { flag, ...(current ? { default: current } : {}) },
  );
}
