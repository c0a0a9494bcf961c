import type { FastifyInstance } from 'fastify';
import { withTransaction } from '../db.js';
import { badRequest, notFound } from '../errors.js';
import { organizationToApi } from '../presenters.js';
import { QueryReader, type RawQuery } from '../query.js';
import { getOrganization, updateOrganization } from '../repo/organizations.js';
import { requireOrganization, requireOrganizationOwner } from '../roles.js';
import {
  errorResponses, listOf, listQuery, organizationSchema, orgParams, selfSchema, updateOrganizationBody,
} from '../schemas.js';
import type { RouteContext } from './context.js';

export async function identityRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }): Promise<void> {
  app.get('/v1/users/self', { schema: { response: { 200: selfSchema, ...errorResponses } } }, async (request) => {
    const p = request.principal!;
    return {
      id: p.userId ?? p.tokenId,
      username: p.username ?? p.tokenName,
      fullName: p.fullName ?? p.username ?? p.tokenName,
      subjectType: p.subjectType,
      organizationId: p.organizationId,
      ...(p.organizationRole ? { organizationRole: p.organizationRole } : {}),
      workspaceRoles: [...p.workspaceRoles].map(([workspaceId, role]) => ({ workspaceId, role })),
      deploymentRoles: [...p.deploymentRoles].map(([deploymentId, role]) => ({ deploymentId, role })),
    };
  });

  app.get<{ Querystring: RawQuery }>(
    '/v1/organizations',
    { schema: { querystring: listQuery(['offset', 'limit']), response: { 200: listOf('organizations', organizationSchema), ...errorResponses } } },
    async (request) => {
      const query = new QueryReader(request.query);
      const offset = query.int('offset', 0, 0, 1_000_000_000);
      const limit = query.int('limit', 20, 1, 1000);
      query.done();
      // A token belongs to exactly one organization, so that is the whole list.
      const org = await getOrganization(ctx.pool, request.principal!.organizationId);
      const all = org ? [organizationToApi(org, false)] : [];
      return { organizations: all.slice(offset, offset + limit), limit, offset, totalCount: all.length };
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/organizations/:org',
    { schema: { params: orgParams, response: { 200: organizationSchema, ...errorResponses } } },
    async (request) => {
      requireOrganization(request.principal!, request.params.org);
      const org = await getOrganization(ctx.pool, request.params.org);
      if (!org) throw notFound('organization', request.params.org);
      return organizationToApi(org, true);
    },
  );

  app.post<{ Params: { org: string }; Body: { name?: string; environmentSecretsFetchingEnabled?: boolean } }>(
    '/v1/organizations/:org',
    { schema: { params: orgParams, body: updateOrganizationBody, response: { 200: organizationSchema, ...errorResponses } } },
    async (request) => {
      requireOrganizationOwner(request.principal!, request.params.org);
      const patch = { ...request.body };
      if (patch.name !== undefined) {
        // As `server admin` takes names: trimmed, and not blank.
        patch.name = patch.name.trim();
        if (patch.name === '') throw badRequest('invalid request: name must not be blank', [{ field: 'name', message: 'must not be blank' }]);
      }
      const org = await withTransaction(ctx.pool, (tx) => updateOrganization(tx, request.params.org, patch));
      if (!org) throw notFound('organization', request.params.org);
      return organizationToApi(org, true);
    },
  );
}
