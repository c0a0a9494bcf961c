// Wire types of the Environment Manager API (API.md). Field names are the wire names.

export interface Page {
  limit: number;
  offset: number;
  totalCount: number;
}

export interface Self {
  id: string;
  username: string;
  fullName?: string;
  subjectType: 'USER' | 'SERVICEKEY';
  organizationId: string;
  organizationRole?: string;
  workspaceRoles: { workspaceId: string; role: string }[];
  deploymentRoles: { deploymentId: string; role: string }[];
}

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  environmentSecretsFetchingEnabled?: boolean;
}

export interface Workspace {
  id: string;
  name: string;
  description?: string;
  organizationId: string;
  organizationName?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Deployment {
  id: string;
  name: string;
  description?: string;
  organizationId: string;
  workspaceId: string;
  workspaceName?: string;
  namespace: string;
  runtimeVersion: string;
  airflowVersion: string;
  status: string;
  type: string;
  region?: string;
  cloudProvider?: string;
  clusterName?: string;
  isDagDeployEnabled: boolean;
  isCicdEnforced: boolean;
  isDevelopmentMode: boolean;
  webServerUrl?: string;
  createdAt: string;
  updatedAt: string;
}

export type ObjectType = 'CONNECTION' | 'AIRFLOW_VARIABLE';
export type Scope = 'WORKSPACE' | 'DEPLOYMENT';

export interface ConnectionFields {
  type: string;
  host?: string;
  login?: string;
  password?: string;
  schema?: string;
  port?: number;
  extra?: Record<string, unknown>;
}

export interface AirflowVariableFields {
  value: string;
  isSecret: boolean;
}

export interface ObjectLink {
  scope: 'DEPLOYMENT';
  scopeEntityId: string;
  connectionOverrides?: Partial<ConnectionFields>;
  airflowVariableOverrides?: Partial<AirflowVariableFields>;
}

export interface ExcludeLink {
  scope: 'DEPLOYMENT';
  scopeEntityId: string;
}

export interface Actor {
  id: string;
  subjectType: string;
  username?: string;
  apiTokenName?: string;
}

export interface EnvironmentObject {
  id?: string;
  objectKey: string;
  objectType: ObjectType;
  scope: Scope;
  scopeEntityId: string;
  sourceScope?: Scope;
  sourceScopeEntityId?: string;
  description?: string;
  autoLinkDeployments?: boolean;
  links?: ObjectLink[];
  excludeLinks?: ExcludeLink[];
  connection?: ConnectionFields;
  airflowVariable?: AirflowVariableFields;
  setFields?: string[];
  createdAt?: string;
  updatedAt?: string;
  createdBy?: Actor;
  updatedBy?: Actor;
}

export interface LinkRequest {
  scope: 'DEPLOYMENT';
  scopeEntityId: string;
  overrides?: { connection?: Partial<ConnectionFields>; airflowVariable?: Partial<AirflowVariableFields> };
}

export interface CreateEnvironmentObjectRequest {
  objectKey: string;
  objectType: ObjectType;
  scope: Scope;
  scopeEntityId: string;
  description?: string;
  autoLinkDeployments?: boolean;
  links?: LinkRequest[];
  excludeLinks?: ExcludeLink[];
  connection?: ConnectionFields;
  airflowVariable?: AirflowVariableFields;
}

/** A field that is absent is left as it is (API.md), the members of airflowVariable included. */
export type UpdateEnvironmentObjectRequest = Partial<
  Omit<CreateEnvironmentObjectRequest, 'objectKey' | 'objectType' | 'scope' | 'scopeEntityId' | 'airflowVariable'>
> & { airflowVariable?: Partial<AirflowVariableFields> };

export interface ListEnvironmentObjectsQuery {
  workspaceId?: string;
  deploymentId?: string;
  objectType?: ObjectType;
  objectKey?: string;
  showSecrets?: boolean;
  resolveLinked?: boolean;
}

/** The value the API puts in place of a secret it does not show. */
export const MASK = '****';
