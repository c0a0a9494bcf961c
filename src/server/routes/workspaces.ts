import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors.js';
import { deploymentToApi, workspaceToApi } from '../presenters.js';
import { QueryReader, type RawQuery } from '../query.js';
import { getDeployment, listDeployments } from '../repo/deployments.js';
import { getWorkspace, listWorkspaces } from '../repo/workspaces.js';
import { isOwner, requireOrganization, requireReadDeployment, requireWorkspaceRole } from '../roles.js';
import { deploymentSchema, errorResponses, listOf, listQuery, orgIdParams, orgParams, workspaceSchema } from '../schemas.js';
import type { RouteContext } from './context.js';

export async function workspaceRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }): Promise<void> {
  app.get<{ Params: { org: string }; Querystring: RawQuery }>(
    '/v1/organizations/:org/workspaces',
    {
      schema: {
        params: orgParams,
        querystring: listQuery(['offset', 'limit', 'sorts', 'workspaceIds', 'names']),
        response: { 200: listOf('workspaces', workspaceSchema), ...errorResponses },
      },
    },
    async (request) => {
      const p = request.principal!;
      requireOrganization(p, request.params.org);
      const query = new QueryReader(request.query);
      const workspaceIds = query.list('workspaceIds', { commas: true });
      const names = query.list('names');
      const page = query.page({ name: 'w.name', createdAt: 'w.created_at' }, 'w.name ASC', 'w.id ASC');
      query.done();
      const result = await listWorkspaces(
        ctx.pool,
        { organizationId: p.organizationId, workspaceIds, names, visibleIds: isOwner(p) ? undefined : [...p.workspaceRoles.keys()] },
        page,
      );
      return { workspaces: result.rows.map(workspaceToApi), limit: page.limit, offset: page.offset, totalCount: result.totalCount };
    },
  );

  app.get<{ Params: { org: string; ws: string } }>(
    '/v1/organizations/:org/workspaces/:ws',
    { schema: { params: orgIdParams('ws'), response: { 200: workspaceSchema, ...errorResponses } } },
    async (request) => {
      const p = request.principal!;
      requireOrganization(p, request.params.org);
      const ws = await getWorkspace(ctx.pool, request.params.org, request.params.ws);
      if (!ws) throw notFound('workspace', request.params.ws);
      requireWorkspaceRole(p, ws.id, 'WORKSPACE_MEMBER');
      return workspaceToApi(ws);
    },
  );

  app.get<{ Params: { org: string }; Querystring: RawQuery }>(
    '/v1/organizations/:org/deployments',
    {
      schema: {
        params: orgParams,
        querystring: listQuery(['offset', 'limit', 'sorts', 'workspaceIds', 'deploymentIds', 'names']),
        response: { 200: listOf('deployments', deploymentSchema), ...errorResponses },
      },
    },
    async (request) => {
      const p = request.principal!;
      requireOrganization(p, request.params.org);
      const query = new QueryReader(request.query);
      const filter = {
        organizationId: p.organizationId,
        workspaceIds: query.list('workspaceIds', { commas: true }),
        deploymentIds: query.list('deploymentIds', { commas: true }),
        names: query.list('names'),
        visible: isOwner(p) ? undefined : { workspaceIds: [...p.workspaceRoles.keys()], deploymentIds: [...p.deploymentRoles.keys()] },
      };
      const page = query.page({ name: 'd.name', createdAt: 'd.created_at' }, 'w.name ASC, d.name ASC', 'd.id ASC');
      query.done();
      const result = await listDeployments(ctx.pool, filter, page);
      return { deployments: result.rows.map(deploymentToApi), limit: page.limit, offset: page.offset, totalCount: result.totalCount };
    },
  );

  app.get<{ Params: { org: string; dep: string } }>(
    '/v1/organizations/:org/deployments/:dep',
    { schema: { params: orgIdParams('dep'), response: { 200: deploymentSchema, ...errorResponses } } },
    async (request) => {
      const p = request.principal!;
      requireOrganization(p, request.params.org);
      const dep = await getDeployment(ctx.pool, request.params.org, request.params.dep);
      if (!dep) throw notFound('deployment', request.params.dep);
      requireReadDeployment(p, { id: dep.id, workspaceId: dep.workspace_id });
      return deploymentToApi(dep);
    },
  );
}
