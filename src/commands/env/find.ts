import type { ApiClient } from '../../api/client.js';
import { ApiError } from '../../api/errors.js';
import type { EnvironmentObject } from '../../api/types.js';
import { UserError } from '../../cli/errors.js';
import type { EnvKind } from './kinds.js';
import { describeScope, type ScopeRef } from './scope.js';
import { shellWord } from '../shared/named.js';

const ID = /^[a-z0-9]{20,32}$/;

/** Finds an object owned by the scope, by key first and then, when the text looks like an id, by id. */
export async function findObject(
  api: ApiClient,
  organizationId: string,
  kind: EnvKind,
  keyOrId: string,
  ref: ScopeRef,
  showSecrets = false,
): Promise<EnvironmentObject & { id: string }> {
  const query = ref.scope === 'WORKSPACE' ? { workspaceId: ref.id } : { deploymentId: ref.id };
  const byKey = await api.listEnvironmentObjects(organizationId, { ...query, objectType: kind.objectType, objectKey: keyOrId, showSecrets });
  const owned = byKey.find((o) => o.objectKey === keyOrId && o.id && o.scope === ref.scope && o.scopeEntityId === ref.id);
  if (owned) return owned as EnvironmentObject & { id: string };
  if (ID.test(keyOrId)) {
    try {
      const object = await api.getEnvironmentObject(organizationId, keyOrId, { showSecrets });
      if (object.objectType === kind.objectType && object.id) return object as EnvironmentObject & { id: string };
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  const where = ref.given === undefined ? '' : ` ${ref.scope === 'DEPLOYMENT' ? '-d' : '-w'} ${shellWord(ref.given)}`;
  throw new UserError(`no ${kind.noun} "${keyOrId}" in ${describeScope(ref)}; list them with envmgr env ${kind.command} list${where}`);
}
