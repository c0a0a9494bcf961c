import type { FastifyInstance } from 'fastify';
import type { CreateObjectRequest, UpdateObjectRequest } from '../objects.js';
import type { RawQuery } from '../query.js';
import { requireOrganization } from '../roles.js';
import {
  createObjectBody, environmentObjectSchema, errorResponses, excludeLinkingBody, listOf, listQuery, orgIdParams, orgParams,
  updateObjectBody,
} from '../schemas.js';
import type { RouteContext } from './context.js';

const LIST_QUERY = ['workspaceId', 'deploymentId', 'objectType', 'objectKey', 'showSecrets', 'resolveLinked', 'offset', 'limit', 'sorts'];
const BASE = '/v1/organizations/:org/environment-objects';

export async function environmentObjectRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }): Promise<void> {
  const idParams = orgIdParams('id');

  app.get<{ Params: { org: string }; Querystring: RawQuery }>(
    BASE,
    {
      schema: {
        params: orgParams,
        querystring: listQuery(LIST_QUERY),
        response: { 200: listOf('environmentObjects', environmentObjectSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      requireOrganization(request.principal!, request.params.org);
      const text = await ctx.objects.listText(request.principal!, request.params.org, request.query, {
        list: (body) => reply.serialize(body) as string,
        item: reply.compileSerializationSchema(environmentObjectSchema) as (item: unknown) => string,
      });
      return reply.type('application/json; charset=utf-8').send(text);
    },
  );

  app.post<{ Params: { org: string }; Body: CreateObjectRequest }>(
    BASE,
    {
      schema: {
        params: orgParams,
        body: createObjectBody,
        response: { 200: { type: 'object', properties: { id: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request) => {
      requireOrganization(request.principal!, request.params.org);
      return ctx.objects.create(request.principal!, request.params.org, request.body);
    },
  );

  app.get<{ Params: { org: string; id: string }; Querystring: RawQuery }>(
    `${BASE}/:id`,
    { schema: { params: idParams, querystring: listQuery(['showSecrets']), response: { 200: environmentObjectSchema, ...errorResponses } } },
    async (request) => {
      requireOrganization(request.principal!, request.params.org);
      return ctx.objects.get(request.principal!, request.params.org, request.params.id, request.query);
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: UpdateObjectRequest }>(
    `${BASE}/:id`,
    { schema: { params: idParams, body: updateObjectBody, response: { 200: environmentObjectSchema, ...errorResponses } } },
    async (request) => {
      requireOrganization(request.principal!, request.params.org);
      return ctx.objects.update(request.principal!, request.params.org, request.params.id, request.body);
    },
  );

  app.delete<{ Params: { org: string; id: string } }>(
    `${BASE}/:id`,
    { schema: { params: idParams, response: errorResponses } },
    async (request, reply) => {
      requireOrganization(request.principal!, request.params.org);
      await ctx.objects.remove(request.principal!, request.params.org, request.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: { scope: 'DEPLOYMENT'; scopeEntityId: string } }>(
    `${BASE}/:id/exclude-linking`,
    { schema: { params: idParams, body: excludeLinkingBody, response: errorResponses } },
    async (request, reply) => {
      requireOrganization(request.principal!, request.params.org);
      await ctx.objects.excludeLinking(request.principal!, request.params.org, request.params.id, request.body);
      return reply.code(204).send();
    },
  );
}
