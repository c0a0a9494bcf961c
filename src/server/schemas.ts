import { ID_PATTERN } from './ids.js';

// Request schemas reject unknown members (additionalProperties: false) and are compiled without type coercion, so a
// wrong type is a 400 rather than a silent conversion. Text must not hold NUL, which Postgres text cannot store.
const NO_NUL = '^[^\\u0000]*$';
const text = (maxLength: number, minLength = 0) => ({ type: 'string', minLength, maxLength, pattern: NO_NUL });
const nullable = (schema: Record<string, unknown>) => ({ ...schema, type: [schema.type as string, 'null'] });
const id = { type: 'string', pattern: ID_PATTERN };

export const OBJECT_KEY_PATTERN = '^[A-Za-z0-9_.-]{1,200}$';

const port = { type: 'integer', minimum: 1, maximum: 65535 };
const extra = { type: 'object', additionalProperties: true };

const connectionProps = {
  type: text(500, 1),
  host: nullable(text(500)),
  login: nullable(text(500)),
  password: nullable(text(65536)),
  schema: nullable(text(500)),
  port: nullable(port),
  extra: nullable(extra),
};

export const connectionCreate = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: connectionProps,
};

export const connectionUpdate = { type: 'object', additionalProperties: false, properties: connectionProps };

export const connectionOverride = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: text(500, 1),
    host: text(500),
    login: text(500),
    password: text(65536),
    schema: text(500),
    port,
    extra,
  },
};

const variableValue = { type: 'string', pattern: NO_NUL };

export const variableCreate = {
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  properties: { value: variableValue, isSecret: { type: 'boolean' } },
};

export const variableUpdate = {
  type: 'object',
  additionalProperties: false,
  properties: { value: variableValue, isSecret: { type: 'boolean' } },
};

// isSecret is accepted when it equals the variable's own (a client may send back a whole variable; objects.ts
// checkOverrideSecrecy): an override's secrecy follows its base object.
export const variableOverride = {
  type: 'object',
  additionalProperties: false,
  properties: { value: variableValue, isSecret: { type: 'boolean' } },
};

const linkRequest = {
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'scopeEntityId'],
  properties: {
    scope: { type: 'string', enum: ['DEPLOYMENT'] },
    scopeEntityId: id,
    overrides: {
      type: 'object',
      additionalProperties: false,
      properties: { connection: connectionOverride, airflowVariable: variableOverride },
    },
    // The response's spelling, accepted too so a client can send back the links it read.
    connectionOverrides: connectionOverride,
    airflowVariableOverrides: variableOverride,
  },
};

const excludeLink = {
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'scopeEntityId'],
  properties: { scope: { type: 'string', enum: ['DEPLOYMENT'] }, scopeEntityId: id },
};

const linkLists = {
  links: { type: 'array', maxItems: 1000, items: linkRequest },
  excludeLinks: { type: 'array', maxItems: 1000, items: excludeLink },
};

export const createObjectBody = {
  type: 'object',
  additionalProperties: false,
  required: ['objectKey', 'objectType', 'scope', 'scopeEntityId'],
  properties: {
    objectKey: { type: 'string', pattern: OBJECT_KEY_PATTERN },
    objectType: { type: 'string', enum: ['CONNECTION', 'AIRFLOW_VARIABLE'] },
    scope: { type: 'string', enum: ['WORKSPACE', 'DEPLOYMENT'] },
    scopeEntityId: id,
    description: text(2000),
    autoLinkDeployments: { type: 'boolean' },
    ...linkLists,
    connection: connectionCreate,
    airflowVariable: variableCreate,
  },
};

export const updateObjectBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    description: nullable(text(2000)),
    autoLinkDeployments: { type: 'boolean' },
    ...linkLists,
    connection: connectionUpdate,
    airflowVariable: variableUpdate,
  },
};

export const excludeLinkingBody = excludeLink;

export const updateOrganizationBody = {
  type: 'object',
  additionalProperties: false,
  properties: { name: text(200, 1), environmentSecretsFetchingEnabled: { type: 'boolean' } },
};

// Query strings arrive as text (or arrays of text when repeated); routes parse and range-check them.
const queryValue = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
export const listQuery = (names: string[]) => ({
  type: 'object',
  properties: Object.fromEntries(names.map((n) => [n, queryValue])),
});

export const orgParams = { type: 'object', required: ['org'], properties: { org: { type: 'string' } } };
export const orgIdParams = (name: string) => ({
  type: 'object',
  required: ['org', name],
  properties: { org: { type: 'string' }, [name]: { type: 'string' } },
});

// ---- responses ----

const errorBody = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    requestId: { type: 'string' },
    statusCode: { type: 'integer' },
    fieldErrors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

export const errorResponses = { '4xx': errorBody, '5xx': errorBody };

const str = { type: 'string' };
const bool = { type: 'boolean' };

export const organizationSchema = {
  type: 'object',
  properties: { id: str, name: str, createdAt: str, updatedAt: str, environmentSecretsFetchingEnabled: bool },
};

export const workspaceSchema = {
  type: 'object',
  properties: { id: str, name: str, description: str, organizationId: str, organizationName: str, createdAt: str, updatedAt: str },
};

export const deploymentSchema = {
  type: 'object',
  properties: {
    id: str, name: str, description: str, organizationId: str, workspaceId: str, workspaceName: str, namespace: str,
    runtimeVersion: str, airflowVersion: str, status: str, type: str, region: str, cloudProvider: str, clusterName: str,
    isDagDeployEnabled: bool, isCicdEnforced: bool, isDevelopmentMode: bool, webServerUrl: str, createdAt: str, updatedAt: str,
  },
};

const actor = {
  type: 'object',
  properties: { id: str, subjectType: str, username: str, apiTokenName: str },
};

const connectionOut = {
  type: 'object',
  properties: {
    type: str, host: str, login: str, password: str, schema: str, port: { type: 'integer' },
    extra: { type: 'object', additionalProperties: true },
  },
};

const variableOut = { type: 'object', properties: { value: str, isSecret: bool } };

export const environmentObjectSchema = {
  type: 'object',
  properties: {
    id: str,
    objectKey: str,
    objectType: str,
    scope: str,
    scopeEntityId: str,
    sourceScope: str,
    sourceScopeEntityId: str,
    description: str,
    autoLinkDeployments: bool,
    links: {
      type: 'array',
      items: {
        type: 'object',
        properties: { scope: str, scopeEntityId: str, connectionOverrides: connectionOut, airflowVariableOverrides: variableOut },
      },
    },
    excludeLinks: { type: 'array', items: { type: 'object', properties: { scope: str, scopeEntityId: str } } },
    connection: connectionOut,
    airflowVariable: variableOut,
    setFields: { type: 'array', items: str },
    createdAt: str,
    updatedAt: str,
    createdBy: actor,
    updatedBy: actor,
  },
};

export const listOf = (key: string, item: object) => ({
  type: 'object',
  properties: { [key]: { type: 'array', items: item }, limit: { type: 'integer' }, offset: { type: 'integer' }, totalCount: { type: 'integer' } },
});

export const selfSchema = {
  type: 'object',
  properties: {
    id: str, username: str, fullName: str, subjectType: str, organizationId: str, organizationRole: str,
    workspaceRoles: { type: 'array', items: { type: 'object', properties: { workspaceId: str, role: str } } },
    deploymentRoles: { type: 'array', items: { type: 'object', properties: { deploymentId: str, role: str } } },
  },
};
