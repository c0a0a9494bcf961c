import type pg from 'pg';
import { parseJsonExact } from '../airflow/pyjson.js';
import { stringifyJsonExact } from '../airflow/exact-json.js';
import type { ResponseCache } from './cache.js';
import type { Keyring } from './crypto.js';
import { withTransaction, type Queryable } from './db.js';
import { badRequest, conflict, notFound, type FieldError } from './errors.js';
import { formatTime, newId } from './ids.js';
import { QueryReader, type RawQuery } from './query.js';
import type { Page } from './repo/listing.js';
import { bumpRevision } from './repo/organizations.js';
import { getDeployment, getDeploymentsByIds, type DeploymentRow } from './repo/deployments.js';
import { getWorkspace } from './repo/workspaces.js';
import {
  addExclusion, deleteObject, getExclusions, getLinks, getObject, insertObject, listOwnedObjects, listResolvedObjects,
  replaceExclusions, replaceLinks, touchObject, updateObject, type Actor, type LinkRow, type NewLink, type ObjectRow, type ObjectType,
  type ResolvedRow, type Scope,
} from './repo/objects.js';
import {
  applyConnectionUpdate, applyVariableUpdate, connectionSetFields, hasSecrets, keepMaskedOverride, MASK, masksWithNothingStored, overlayConnection,
  overlayVariable, splitConnection, splitVariable, unmaskConnection, unmaskVariable, variableSetFields,
  withoutNulls, type ConnectionFields, type SecretValues, type VariableFields,
} from './secrets.js';
import {
  mayShowSecrets, requireReadDeployment, requireShowSecrets, requireWorkspaceRole, type Principal,
} from './roles.js';

export interface ApiLink {
  scope: 'DEPLOYMENT';
  scopeEntityId: string;
  connectionOverrides?: ConnectionFields;
  airflowVariableOverrides?: VariableFields;
}

export interface ApiEnvironmentObject {
  id?: string;
  objectKey: string;
  objectType: ObjectType;
  scope: Scope;
  scopeEntityId: string;
  sourceScope?: Scope;
  sourceScopeEntityId?: string;
  description?: string;
  autoLinkDeployments?: boolean;
  links?: ApiLink[];
  excludeLinks?: Array<{ scope: 'DEPLOYMENT'; scopeEntityId: string }>;
  connection?: ConnectionFields;
  airflowVariable?: VariableFields;
  setFields: string[];
  createdAt?: string;
  updatedAt?: string;
  createdBy: Actor;
  updatedBy: Actor;
}

interface LinkRequest {
  scope: 'DEPLOYMENT';
  scopeEntityId: string;
  overrides?: { connection?: ConnectionFields; airflowVariable?: VariableFields };
  connectionOverrides?: ConnectionFields;
  airflowVariableOverrides?: VariableFields;
}

export interface CreateObjectRequest {
  objectKey: string;
  objectType: ObjectType;
  scope: Scope;
  scopeEntityId: string;
  description?: string;
  autoLinkDeployments?: boolean;
  links?: LinkRequest[];
  excludeLinks?: Array<{ scope: 'DEPLOYMENT'; scopeEntityId: string }>;
  connection?: ConnectionFields;
  airflowVariable?: VariableFields;
}

export type UpdateObjectRequest = Omit<CreateObjectRequest, 'objectKey' | 'objectType' | 'scope' | 'scopeEntityId' | 'description'> & {
  description?: string | null;
};

export function actorOf(p: Principal): Actor {
  return p.subjectType === 'USER' && p.userId
    ? { id: p.userId, subjectType: 'USER', ...(p.username ? { username: p.username } : {}) }
    : { id: p.tokenId, subjectType: 'SERVICEKEY', apiTokenName: p.tokenName };
}

const linkContext = (objectId: string, deploymentId: string) => `${objectId}/link/${deploymentId}`;

/** Reads and writes environment objects: the only place that seals, opens, masks and resolves them. */
export class ObjectService {
  constructor(
    private readonly pool: pg.Pool,
    private readonly keyring: Keyring,
    private readonly cache?: ResponseCache,
  ) {}

  private seal(secrets: SecretValues, context: string): { secrets: string | null; secretsKeyId: string | null } {
    if (!hasSecrets(secrets)) return { secrets: null, secretsKeyId: null };
    const { keyId, sealed } = this.keyring.seal(stringifyJsonExact(secrets), context);
    return { secrets: sealed, secretsKeyId: keyId };
  }

  private open(sealed: string | null, keyId: string | null, context: string): SecretValues | null {
    if (!sealed || !keyId) return null;
    return parseJsonExact(this.keyring.open(sealed, keyId, context)) as SecretValues;
  }

  private clearBody(row: ObjectRow): ConnectionFields | VariableFields {
    const secrets = this.open(row.secrets, row.secrets_key_id, row.id);
    return row.object_type === 'CONNECTION' ? unmaskConnection(row.body as ConnectionFields, secrets) : unmaskVariable(row.body as VariableFields, secrets);
  }

  private clearLink(link: LinkRow): { connection: ConnectionFields | null; variable: VariableFields | null } {
    const secrets = this.open(link.secrets, link.secrets_key_id, linkContext(link.object_id, link.deployment_id));
    return {
      connection: link.connection_overrides ? unmaskConnection(link.connection_overrides, secrets) : null,
      variable: link.airflow_variable_overrides ? unmaskVariable(link.airflow_variable_overrides, secrets) : null,
    };
  }

  private presentBody(out: ApiEnvironmentObject, type: ObjectType, body: ConnectionFields | VariableFields): void {
    if (type === 'CONNECTION') {
      // (Rows written before create dropped null members may still hold some.)
      out.connection = withoutNulls(body as ConnectionFields);
      out.setFields = connectionSetFields(body as ConnectionFields);
    } else {
      const variable = body as VariableFields;
      out.airflowVariable = { value: variable.value ?? '', isSecret: variable.isSecret ?? false };
      out.setFields = variableSetFields(variable);
    }
  }

  private present(row: ObjectRow, showSecrets: boolean, links?: LinkRow[], exclusions?: string[]): ApiEnvironmentObject {
    const out: ApiEnvironmentObject = {
      id: row.id,
      objectKey: row.object_key,
      objectType: row.object_type,
      scope: row.scope,
      scopeEntityId: row.scope_entity_id,
      setFields: [],
      createdAt: formatTime(row.created_at),
      updatedAt: formatTime(row.updated_at),
      createdBy: row.created_by,
      updatedBy: row.updated_by,
    };
    if (row.description !== null) out.description = row.description;
    if (row.scope === 'WORKSPACE') {
      out.autoLinkDeployments = row.auto_link_deployments;
      out.links = (links ?? []).map((link) => {
        const clear = showSecrets || openVariableOverrides(row) ? this.clearLink(link) : null;
        const api: ApiLink = { scope: 'DEPLOYMENT', scopeEntityId: link.deployment_id };
        const conn = clear ? clear.connection : link.connection_overrides;
        const variable = clear ? clear.variable : link.airflow_variable_overrides;
        if (conn) api.connectionOverrides = conn;
        if (variable) api.airflowVariableOverrides = variable;
        return api;
      });
      out.excludeLinks = (exclusions ?? []).map((d) => ({ scope: 'DEPLOYMENT', scopeEntityId: d }));
    }
    this.presentBody(out, row.object_type, showSecrets ? this.clearBody(row) : row.body);
    return out;
  }

  private presentResolved(row: ResolvedRow, deploymentId: string, showSecrets: boolean): ApiEnvironmentObject {
    if (!row.via_workspace) return this.present(row, showSecrets);
    const out: ApiEnvironmentObject = {
      objectKey: row.object_key,
      objectType: row.object_type,
      scope: 'DEPLOYMENT',
      scopeEntityId: deploymentId,
      sourceScope: 'WORKSPACE',
      sourceScopeEntityId: row.workspace_id,
      setFields: [],
      createdAt: formatTime(row.created_at),
      updatedAt: formatTime(row.updated_at),
      createdBy: row.created_by,
      updatedBy: row.updated_by,
    };
    if (row.description !== null) out.description = row.description;
    const base = showSecrets ? this.clearBody(row) : row.body;
    let linkConn = row.connection_overrides;
    let linkVar = row.airflow_variable_overrides;
    if ((showSecrets || openVariableOverrides(row)) && row.link_secrets) {
      const secrets = this.open(row.link_secrets, row.link_secrets_key_id, linkContext(row.id, deploymentId));
      if (linkConn) linkConn = unmaskConnection(linkConn, secrets);
      if (linkVar) linkVar = unmaskVariable(linkVar, secrets);
    }
    const body =
      row.object_type === 'CONNECTION'
        ? overlayConnection(base as ConnectionFields, linkConn)
        : overlayVariable(base as VariableFields, linkVar);
    this.presentBody(out, row.object_type, body);
    return out;
  }

  private async withLinks(q: Queryable, rows: ObjectRow[], showSecrets: boolean): Promise<ApiEnvironmentObject[]> {
    const workspaceIds = rows.filter((r) => r.scope === 'WORKSPACE').map((r) => r.id);
    const [links, exclusions] = await Promise.all([getLinks(q, workspaceIds), getExclusions(q, workspaceIds)]);
    const linksBy = groupBy(links, (l) => l.object_id);
    const exclusionsBy = groupBy(exclusions, (e) => e.object_id);
    return rows.map((row) =>
      this.present(row, showSecrets, linksBy.get(row.id), exclusionsBy.get(row.id)?.map((e) => e.deployment_id)),
    );
  }

  /** The list as an object (for callers in-process). */
  async list(p: Principal, organizationId: string, raw: RawQuery) {
    const plan = await this.planList(p, organizationId, raw);
    const result = await plan.compute(plan.page);
    return listEnvelope(result.items, plan.page, result.totalCount);
  }

  /**
   * The list as serialized JSON. Authorization is checked (planList) before the cache is consulted, on every request.
   * With the cache on, the whole filtered, sorted set (up to FULL_SET_MAX objects) is resolved once per organization
   * revision and view (masked or showSecrets), kept as one serialized fragment per object, and every page is sliced
   * from it; the page's bytes are cached too. See cache.ts for why secret-bearing text may be kept there.
   */
  async listText(
    p: Principal,
    organizationId: string,
    raw: RawQuery,
    serialize: { list: (body: unknown) => string; item: (item: ApiEnvironmentObject) => string },
  ): Promise<string | Buffer> {
    const plan = await this.planList(p, organizationId, raw);
    const cache = this.cache;
    if (!cache) {
      const result = await plan.compute(plan.page);
      return serialize.list(listEnvelope(result.items, plan.page, result.totalCount));
    }
    const revision = p.organizationRevision;
    const view = plan.showSecrets ? 'clear' : 'masked';
    const pageKey = `page\n${view}\n${plan.key}\n${plan.page.offset}\n${plan.page.limit}`;
    const hit = cache.get(organizationId, revision, pageKey);
    if (Buffer.isBuffer(hit)) return hit;
    const setKey = `set\n${view}\n${plan.key}`;
    let set = cache.get(organizationId, revision, setKey);
    if (!Array.isArray(set)) {
      set = (await this.resolveSet(organizationId, revision, setKey, plan, serialize.item)) ?? undefined;
    }
    let bytes: Buffer;
    if (set) {
      const { offset, limit } = plan.page;
      bytes = Buffer.from(listEnvelopeText(set.slice(offset, offset + limit), plan.page, set.length), 'utf8');
    } else {
      // Too many objects to keep as a set: this page alone, straight from the database.
      const result = await plan.compute(plan.page);
      bytes = Buffer.from(serialize.list(listEnvelope(result.items, plan.page, result.totalCount)), 'utf8');
    }
    cache.set(organizationId, revision, pageKey, bytes);
    return bytes;
  }

  // Concurrent misses for the same set (every client asking right after a write) share one computation.
  private readonly pendingSets = new Map<string, Promise<string[] | null>>();

  private resolveSet(
    organizationId: string,
    revision: string,
    setKey: string,
    plan: ListPlan,
    serializeItem: (item: ApiEnvironmentObject) => string,
  ): Promise<string[] | null> {
    const pendingKey = `${organizationId}\n${revision}\n${setKey}`;
    const pending = this.pendingSets.get(pendingKey);
    if (pending) return pending;
    const work = (async () => {
      const all = await plan.compute({ offset: 0, limit: FULL_SET_MAX + 1, orderBy: plan.page.orderBy });
      if (all.totalCount > FULL_SET_MAX) return null;
      const fragments = all.items.map(serializeItem);
      this.cache?.set(organizationId, revision, setKey, fragments);
      return fragments;
    })();
    this.pendingSets.set(pendingKey, work);
    const clear = () => this.pendingSets.delete(pendingKey);
    work.then(clear, clear);
    return work;
  }

  private async planList(p: Principal, organizationId: string, raw: RawQuery): Promise<ListPlan> {
    const query = new QueryReader(raw);
    const workspaceId = query.one('workspaceId');
    const deploymentId = query.one('deploymentId');
    const objectType = query.enumOf('objectType', ['CONNECTION', 'AIRFLOW_VARIABLE'] as const);
    const objectKey = query.one('objectKey');
    const showSecrets = query.bool('showSecrets', false);
    const resolveLinked = query.bool('resolveLinked', false);
    const page = query.page(
      { objectKey: 'o.object_key', objectType: 'o.object_type', createdAt: 'o.created_at', updatedAt: 'o.updated_at' },
      'o.object_key ASC, o.object_type ASC',
      'o.id ASC',
    );
    if (workspaceId && deploymentId) {
      query.errors.push({ field: 'deploymentId', message: 'must not be given with workspaceId (the two are mutually exclusive: give one of them)' });
    } else if (!workspaceId && !deploymentId) {
      query.errors.push({ field: 'workspaceId', message: 'is required unless deploymentId is given (give one of them)' });
    }
    query.done();
    const filter = { objectType, objectKey };
    // Everything that decides the set and its order, but not the page (offset, limit) nor the view (showSecrets).
    const key = JSON.stringify([workspaceId, deploymentId, objectType, objectKey, resolveLinked, page.orderBy]);
    if (workspaceId) {
      const wsId = await this.workspaceOf(organizationId, workspaceId);
      requireWorkspaceRole(p, wsId, 'WORKSPACE_MEMBER');
      if (showSecrets) requireShowSecrets(p, organizationId, { workspaceId: wsId });
      return {
        key,
        showSecrets,
        page,
        compute: async (pg) => {
          const result = await listOwnedObjects(this.pool, organizationId, wsId, filter, pg);
          return { items: await this.withLinks(this.pool, result.rows, showSecrets), totalCount: result.totalCount };
        },
      };
    }
    const target = await this.deploymentTarget(organizationId, deploymentId as string);
    requireReadDeployment(p, target);
    if (showSecrets) requireShowSecrets(p, organizationId, { workspaceId: target.workspaceId, deploymentId: target.id });
    return {
      key,
      showSecrets,
      page,
      compute: async (pg) => {
        if (resolveLinked) {
          const result = await listResolvedObjects(this.pool, target, filter, pg);
          return { items: result.rows.map((row) => this.presentResolved(row, target.id, showSecrets)), totalCount: result.totalCount };
        }
        const result = await listOwnedObjects(this.pool, organizationId, target.id, filter, pg);
        return { items: result.rows.map((row) => this.present(row, showSecrets)), totalCount: result.totalCount };
      },
    };
  }

  // Which workspace a deployment belongs to never changes (there is no move), so it is remembered per process.
  private readonly deploymentWorkspaces = new Map<string, string>();
  private readonly knownWorkspaces = new Set<string>();

  private async deploymentTarget(organizationId: string, id: string): Promise<{ id: string; workspaceId: string }> {
    const cacheKey = `${organizationId}/${id}`;
    const known = this.deploymentWorkspaces.get(cacheKey);
    if (known) return { id, workspaceId: known };
    const dep = await this.deployment(organizationId, id);
    if (this.deploymentWorkspaces.size > 50_000) this.deploymentWorkspaces.clear();
    this.deploymentWorkspaces.set(cacheKey, dep.workspace_id);
    return { id: dep.id, workspaceId: dep.workspace_id };
  }

  private async workspaceOf(organizationId: string, id: string): Promise<string> {
    const cacheKey = `${organizationId}/${id}`;
    if (this.knownWorkspaces.has(cacheKey)) return id;
    const ws = await getWorkspace(this.pool, organizationId, id);
    if (!ws) throw notFound('workspace', id);
    if (this.knownWorkspaces.size > 50_000) this.knownWorkspaces.clear();
    this.knownWorkspaces.add(cacheKey);
    return ws.id;
  }

  private async deployment(organizationId: string, id: string, q: Queryable = this.pool): Promise<DeploymentRow> {
    const dep = await getDeployment(q, organizationId, id);
    if (!dep) throw notFound('deployment', id);
    return dep;
  }

  private requireRead(p: Principal, row: ObjectRow, showSecrets: boolean): void {
    if (row.scope === 'DEPLOYMENT') {
      requireReadDeployment(p, { id: row.scope_entity_id, workspaceId: row.workspace_id });
    } else {
      requireWorkspaceRole(p, row.workspace_id, 'WORKSPACE_MEMBER');
    }
    if (showSecrets) {
      requireShowSecrets(p, row.organization_id, {
        workspaceId: row.workspace_id,
        deploymentId: row.deployment_id ?? undefined,
      });
    }
  }

  async get(p: Principal, organizationId: string, id: string, raw: RawQuery): Promise<ApiEnvironmentObject> {
    const query = new QueryReader(raw);
    const showSecrets = query.bool('showSecrets', false);
    query.done();
    const row = await getObject(this.pool, organizationId, id);
    if (!row) throw notFound('environment object', id);
    this.requireRead(p, row, showSecrets);
    const [item] = await this.withLinks(this.pool, [row], showSecrets);
    return item as ApiEnvironmentObject;
  }

  async create(p: Principal, organizationId: string, body: CreateObjectRequest): Promise<{ id: string }> {
    const errors: FieldError[] = [];
    checkBodyMatchesType(body.objectType, body, errors);
    let workspaceId: string;
    let deploymentId: string | null = null;
    if (body.scope === 'WORKSPACE') {
      const ws = await getWorkspace(this.pool, organizationId, body.scopeEntityId);
      if (!ws) throw badRequest(`no workspace with id ${body.scopeEntityId} in this organization`, [{ field: 'scopeEntityId', message: 'no such workspace in this organization' }]);
      workspaceId = ws.id;
    } else {
      const dep = await getDeployment(this.pool, organizationId, body.scopeEntityId);
      if (!dep) throw badRequest(`no deployment with id ${body.scopeEntityId} in this organization`, [{ field: 'scopeEntityId', message: 'no such deployment in this organization' }]);
      workspaceId = dep.workspace_id;
      deploymentId = dep.id;
      checkDeploymentScope(body, errors);
    }
    requireWorkspaceRole(p, workspaceId, 'WORKSPACE_OPERATOR');
    if (body.objectType === 'AIRFLOW_VARIABLE' && body.airflowVariable) checkOverrideSecrecy(body.links, body.airflowVariable.isSecret ?? false, errors);
    if (body.objectType === 'CONNECTION') {
      errors.push(...masksWithNothingStored(body.connection as ConnectionFields | undefined, undefined, 'connection'));
      checkLinkMasks(body.links, new Map(), errors);
    }
    if (errors.length > 0) throw badRequest(describe(errors), errors);
    await this.checkLinkTargets(organizationId, workspaceId, body, body.objectType);

    const id = newId();
    const split = body.objectType === 'CONNECTION' ? splitConnection(withoutNulls(body.connection as ConnectionFields)) : splitVariable(normalVariable(body.airflowVariable as VariableFields));
    const sealed = this.seal(split.secrets, id);
    const links = this.buildLinks(id, body.objectType, body.links ?? [], new Map());
    try {
      await withTransaction(this.pool, async (tx) => {
        await insertObject(tx, {
          id,
          organizationId,
          workspaceId,
          deploymentId,
          scope: body.scope,
          scopeEntityId: body.scopeEntityId,
          objectKey: body.objectKey,
          objectType: body.objectType,
          description: body.description ?? null,
          autoLinkDeployments: body.autoLinkDeployments ?? false,
          body: split.masked,
          ...sealed,
          actor: actorOf(p),
        });
        await replaceLinks(tx, id, links);
        await replaceExclusions(tx, id, (body.excludeLinks ?? []).map((e) => e.scopeEntityId));
        await bumpRevision(tx, organizationId);
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw conflict(`an environment object of type ${body.objectType} with key ${body.objectKey} already exists in ${body.scope.toLowerCase()} ${body.scopeEntityId}`);
      }
      throw err;
    }
    return { id };
  }

  async update(p: Principal, organizationId: string, id: string, body: UpdateObjectRequest): Promise<ApiEnvironmentObject> {
    await withTransaction(this.pool, async (tx) => {
      const row = await getObject(tx, organizationId, id, true);
      if (!row) throw notFound('environment object', id);
      requireWorkspaceRole(p, row.workspace_id, 'WORKSPACE_OPERATOR');
      const errors: FieldError[] = [];
      if (row.object_type === 'CONNECTION' && body.airflowVariable) errors.push({ field: 'airflowVariable', message: 'is not allowed on a CONNECTION' });
      if (row.object_type === 'AIRFLOW_VARIABLE' && body.connection) errors.push({ field: 'connection', message: 'is not allowed on an AIRFLOW_VARIABLE' });
      if (row.scope === 'DEPLOYMENT') checkDeploymentScope(body, errors);
      if (row.object_type === 'AIRFLOW_VARIABLE') {
        checkOverrideSecrecy(body.links, body.airflowVariable?.isSecret ?? (row.body as VariableFields).isSecret ?? false, errors);
      }
      if (errors.length > 0) throw badRequest(describe(errors), errors);
      await this.checkLinkTargets(organizationId, row.workspace_id, body, row.object_type, tx);
      // The links the object has now, read once: checked against below, then kept or replaced.
      const storedLinks = body.links || body.excludeLinks || row.object_type === 'AIRFLOW_VARIABLE' ? await getLinks(tx, [id]) : [];
      const previous = body.links ? new Map(storedLinks.map((l) => [l.deployment_id, this.clearLink(l)])) : undefined;
      if (body.excludeLinks && !body.links) {
        // Against the links the object keeps: an exclusion of a deployment it is linked to explicitly would do nothing.
        const linked = new Set(storedLinks.map((link) => link.deployment_id));
        const clashes: FieldError[] = [];
        body.excludeLinks.forEach((exclusion, i) => {
          if (linked.has(exclusion.scopeEntityId)) {
            clashes.push({ field: `excludeLinks[${i}].scopeEntityId`, message: 'is linked explicitly (an explicit link wins over an exclusion): remove the link, or leave the deployment out of excludeLinks' });
          }
        });
        if (clashes.length > 0) throw badRequest(describe(clashes), clashes);
      }

      const stored = this.clearBody(row);
      if (row.object_type === 'CONNECTION') {
        const maskErrors = masksWithNothingStored(body.connection, stored as ConnectionFields, 'connection');
        if (body.links && previous) checkLinkMasks(body.links, new Map([...previous].map(([d, l]) => [d, l.connection ?? undefined])), maskErrors);
        if (maskErrors.length > 0) throw badRequest(describe(maskErrors), maskErrors);
      }
      if (row.object_type === 'AIRFLOW_VARIABLE') {
        checkSecretStaysHidden(p, row, stored as VariableFields, body, body.links ? [] : storedLinks);
      }
      const split =
        row.object_type === 'CONNECTION'
          ? splitConnection(body.connection ? applyConnectionUpdate(stored as ConnectionFields, body.connection) : (stored as ConnectionFields))
          : splitVariable(body.airflowVariable ? applyVariableUpdate(stored as VariableFields, body.airflowVariable) : (stored as VariableFields));
      await updateObject(tx, {
        id,
        description: body.description === undefined ? row.description : body.description,
        autoLinkDeployments: body.autoLinkDeployments ?? row.auto_link_deployments,
        body: split.masked,
        ...this.seal(split.secrets, id),
        actor: actorOf(p),
      });
      if (body.links && previous) await replaceLinks(tx, id, this.buildLinks(id, row.object_type, body.links, previous));
      if (body.excludeLinks) await replaceExclusions(tx, id, body.excludeLinks.map((e) => e.scopeEntityId));
      await bumpRevision(tx, organizationId);
    });
    return this.get(p, organizationId, id, {});
  }

  async remove(p: Principal, organizationId: string, id: string): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      const row = await getObject(tx, organizationId, id, true);
      if (!row) throw notFound('environment object', id);
      requireWorkspaceRole(p, row.workspace_id, 'WORKSPACE_OPERATOR');
      await deleteObject(tx, id);
      await bumpRevision(tx, organizationId);
    });
  }

  async excludeLinking(p: Principal, organizationId: string, id: string, body: { scope: 'DEPLOYMENT'; scopeEntityId: string }): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      const row = await getObject(tx, organizationId, id, true);
      if (!row) throw notFound('environment object', id);
      requireWorkspaceRole(p, row.workspace_id, 'WORKSPACE_OPERATOR');
      if (row.scope !== 'WORKSPACE') {
        throw badRequest('only a workspace object can be excluded from a deployment', [{ field: 'scope', message: 'the object is not owned by a workspace' }]);
      }
      const dep = await getDeployment(tx, organizationId, body.scopeEntityId);
      if (!dep || dep.workspace_id !== row.workspace_id) {
        throw badRequest(`deployment ${body.scopeEntityId} is not in the object's workspace ${row.workspace_id}`, [
          { field: 'scopeEntityId', message: "is not a deployment of the object's workspace" },
        ]);
      }
      if ((await getLinks(tx, [id])).some((link) => link.deployment_id === dep.id)) {
        // An explicit link wins over an exclusion (API.md §Resolution): excluding would change nothing.
        throw conflict(`the object is linked to deployment ${dep.id} explicitly, and an explicit link wins over an exclusion: remove that link (update the object's links) to stop it reaching the deployment`);
      }
      // Already excluded: nothing changes, not even updatedAt.
      if ((await getExclusions(tx, [id])).some((e) => e.deployment_id === dep.id)) return;
      await addExclusion(tx, id, dep.id);
      await touchObject(tx, id, actorOf(p));
      await bumpRevision(tx, organizationId);
    });
  }

  private async checkLinkTargets(
    organizationId: string,
    workspaceId: string,
    body: Pick<CreateObjectRequest, 'links' | 'excludeLinks'>,
    objectType: ObjectType,
    q: Queryable = this.pool,
  ): Promise<void> {
    const errors: FieldError[] = [];
    const lists = [
      ['links', body.links ?? []],
      ['excludeLinks', body.excludeLinks ?? []],
    ] as const;
    const ids = lists.flatMap(([, list]) => list.map((l) => l.scopeEntityId));
    const found = new Map((ids.length > 0 ? await getDeploymentsByIds(q, organizationId, [...new Set(ids)]) : []).map((d) => [d.id, d]));
    for (const [name, list] of lists) {
      const seen = new Set<string>();
      list.forEach((link, i) => {
        const field = `${name}[${i}].scopeEntityId`;
        const dep = found.get(link.scopeEntityId);
        if (!dep || dep.workspace_id !== workspaceId) errors.push({ field, message: `is not a deployment of workspace ${workspaceId}` });
        if (seen.has(link.scopeEntityId)) errors.push({ field, message: 'is listed twice' });
        seen.add(link.scopeEntityId);
      });
    }
    if (body.links && body.excludeLinks) {
      const linked = new Set(body.links.map((link) => link.scopeEntityId));
      body.excludeLinks.forEach((exclusion, i) => {
        if (linked.has(exclusion.scopeEntityId)) {
          errors.push({ field: `excludeLinks[${i}].scopeEntityId`, message: 'is also in links (an explicit link wins over an exclusion): give it in one list only' });
        }
      });
    }
    (body.links ?? []).forEach((link, i) => {
      const conn = link.overrides?.connection ?? link.connectionOverrides;
      const variable = link.overrides?.airflowVariable ?? link.airflowVariableOverrides;
      if (link.overrides && (link.connectionOverrides || link.airflowVariableOverrides)) {
        errors.push({ field: `links[${i}].overrides`, message: 'give overrides or connectionOverrides/airflowVariableOverrides, not both' });
      }
      if (conn && objectType !== 'CONNECTION') errors.push({ field: `links[${i}].overrides.connection`, message: 'is only allowed on a CONNECTION' });
      if (variable && objectType !== 'AIRFLOW_VARIABLE') errors.push({ field: `links[${i}].overrides.airflowVariable`, message: 'is only allowed on an AIRFLOW_VARIABLE' });
    });
    if (errors.length > 0) throw badRequest(describe(errors), errors);
  }

  private buildLinks(
    objectId: string,
    objectType: ObjectType,
    links: LinkRequest[],
    previous: Map<string, { connection: ConnectionFields | null; variable: VariableFields | null }>,
  ): NewLink[] {
    return links.map((link) => {
      const before = previous.get(link.scopeEntityId);
      const context = linkContext(objectId, link.scopeEntityId);
      let conn = link.overrides?.connection ?? link.connectionOverrides;
      let variable = link.overrides?.airflowVariable ?? link.airflowVariableOverrides;
      if (objectType === 'CONNECTION' && conn) {
        conn = keepMaskedOverride(before?.connection ?? undefined, conn);
        const split = splitConnection(conn);
        return { deploymentId: link.scopeEntityId, connectionOverrides: split.masked, airflowVariableOverrides: null, ...this.seal(split.secrets, context) };
      }
      if (objectType === 'AIRFLOW_VARIABLE' && variable) {
        // Variable override values are always sealed: whether they are shown masked follows the base variable's
        // isSecret at read time, and that flag can change after the link was written.
        variable = { value: variable.value === '****' && before?.variable?.value !== undefined ? before.variable.value : variable.value };
        const split = splitVariable({ ...variable, isSecret: true });
        return {
          deploymentId: link.scopeEntityId,
          connectionOverrides: null,
          airflowVariableOverrides: { value: split.masked.value },
          ...this.seal(split.secrets, context),
        };
      }
      return { deploymentId: link.scopeEntityId, connectionOverrides: null, airflowVariableOverrides: null, secrets: null, secretsKeyId: null };
    });
  }
}

/** The largest set kept whole in the cache; a bigger list is served page by page from the database. */
const FULL_SET_MAX = 5000;

/** A list request, authorized: the set it names (key), its page and view, and how to compute any page of it. */
interface ListPlan {
  key: string;
  showSecrets: boolean;
  page: Page;
  compute: (page: Page) => Promise<{ items: ApiEnvironmentObject[]; totalCount: number }>;
}

function listEnvelope(items: ApiEnvironmentObject[], page: Page, totalCount: number) {
  return { environmentObjects: items, limit: page.limit, offset: page.offset, totalCount };
}

/** The same text the route's response schema gives for listEnvelope(...), from already serialized items. */
function listEnvelopeText(fragments: string[], page: Page, totalCount: number): string {
  return `{"environmentObjects":[${fragments.join(',')}],"limit":${page.limit},"offset":${page.offset},"totalCount":${totalCount}}`;
}

/**
 * Turning a variable's isSecret off shows its value, and its links' override values, to every reader. A caller who
 * may not read secrets (API.md §Secrets) must therefore give those values anew rather than keep the stored ones
 * (left out or sent back as "****"): otherwise an update would reveal what the caller cannot read.
 */
function checkSecretStaysHidden(p: Principal, row: ObjectRow, stored: VariableFields, body: UpdateObjectRequest, storedLinks: LinkRow[]): void {
  if (!stored.isSecret || body.airflowVariable?.isSecret !== false) return;
  if (mayShowSecrets(p, { workspaceId: row.workspace_id, deploymentId: row.deployment_id ?? undefined })) return;
  const why = 'turning isSecret off would show the stored secret value, which this token may not read: give the new value';
  const errors: FieldError[] = [];
  const value = body.airflowVariable.value;
  if (value === undefined || value === MASK) errors.push({ field: 'airflowVariable.value', message: why });
  if (body.links) {
    body.links.forEach((link, i) => {
      const override = link.overrides?.airflowVariable ?? link.airflowVariableOverrides;
      if (override?.value === MASK) errors.push({ field: `links[${i}].overrides.airflowVariable.value`, message: why });
    });
  } else if (storedLinks.some((link) => link.airflow_variable_overrides)) {
    errors.push({ field: 'links', message: 'turning isSecret off would show the links\' stored override values, which this token may not read: give the links with their new values' });
  }
  if (errors.length > 0) throw badRequest(describe(errors), errors);
}

/** A non-secret variable's override values are shown in clear, so they must be opened even without showSecrets. */
function openVariableOverrides(row: ObjectRow): boolean {
  return row.object_type === 'AIRFLOW_VARIABLE' && !(row.body as VariableFields).isSecret;
}

function normalVariable(v: VariableFields): VariableFields {
  return { value: v.value ?? '', isSecret: v.isSecret ?? false };
}

/** masksWithNothingStored for each link's connection override, against what the previous link to that deployment holds. */
function checkLinkMasks(links: LinkRequest[] | undefined, previous: Map<string, ConnectionFields | undefined>, errors: FieldError[]): void {
  (links ?? []).forEach((link, i) => {
    const [override, field] = link.overrides?.connection
      ? [link.overrides.connection, `links[${i}].overrides.connection`]
      : [link.connectionOverrides, `links[${i}].connectionOverrides`];
    errors.push(...masksWithNothingStored(override as ConnectionFields | undefined, previous.get(link.scopeEntityId), field));
  });
}

/**
 * An override's value is secret exactly when its variable is (API.md §Secrets): an `isSecret` in an override is
 * accepted when it says the same as the variable (a client sending back what it read), and refused otherwise, so that
 * no override asked to be secret is then shown in clear.
 */
function checkOverrideSecrecy(links: LinkRequest[] | undefined, variableIsSecret: boolean, errors: FieldError[]): void {
  (links ?? []).forEach((link, i) => {
    const [override, field] = link.overrides?.airflowVariable
      ? [link.overrides.airflowVariable, `links[${i}].overrides.airflowVariable.isSecret`]
      : [link.airflowVariableOverrides, `links[${i}].airflowVariableOverrides.isSecret`];
    if (override?.isSecret === undefined || override.isSecret === variableIsSecret) return;
    errors.push({
      field,
      message: `is ${override.isSecret} but the variable's isSecret is ${variableIsSecret}: an override's value is secret exactly when its variable's is (set airflowVariable.isSecret)`,
    });
  });
}

function checkBodyMatchesType(type: ObjectType, body: CreateObjectRequest, errors: FieldError[]): void {
  if (type === 'CONNECTION') {
    if (!body.connection) errors.push({ field: 'connection', message: 'is required for objectType CONNECTION' });
    if (body.airflowVariable) errors.push({ field: 'airflowVariable', message: 'is not allowed for objectType CONNECTION' });
  } else {
    if (!body.airflowVariable) errors.push({ field: 'airflowVariable', message: 'is required for objectType AIRFLOW_VARIABLE' });
    if (body.connection) errors.push({ field: 'connection', message: 'is not allowed for objectType AIRFLOW_VARIABLE' });
  }
}

function checkDeploymentScope(body: Pick<CreateObjectRequest, 'links' | 'excludeLinks' | 'autoLinkDeployments'>, errors: FieldError[]): void {
  if (body.autoLinkDeployments) errors.push({ field: 'autoLinkDeployments', message: 'is only allowed on a WORKSPACE object' });
  if (body.links && body.links.length > 0) errors.push({ field: 'links', message: 'are only allowed on a WORKSPACE object' });
  if (body.excludeLinks && body.excludeLinks.length > 0) errors.push({ field: 'excludeLinks', message: 'are only allowed on a WORKSPACE object' });
}

function describe(errors: FieldError[]): string {
  return `invalid request: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
