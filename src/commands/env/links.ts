import type { LinkRequest, ObjectLink } from '../../api/types.js';

/**
 * A link as the API answers it → as an update sends it. Secret override values come back masked; sent back
 * masked, the API keeps what it stores.
 */
export function toLinkRequest(link: ObjectLink): LinkRequest {
  const overrides: LinkRequest['overrides'] = {};
  if (link.connectionOverrides && Object.keys(link.connectionOverrides).length > 0) overrides.connection = link.connectionOverrides;
  if (link.airflowVariableOverrides && Object.keys(link.airflowVariableOverrides).length > 0) overrides.airflowVariable = link.airflowVariableOverrides;
  return { scope: 'DEPLOYMENT', scopeEntityId: link.scopeEntityId, ...(Object.keys(overrides).length > 0 ? { overrides } : {}) };
}
