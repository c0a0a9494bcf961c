export { ApiClient, parseRetryAfter, type ApiClientOptions } from './client.js';
export { ApiError, SHOW_SECRETS_FORBIDDEN, type FieldError } from './errors.js';
export { createDispatcher, type DispatcherOptions } from './dispatcher.js';
export { resolveEndpoint, type Endpoint } from './url.js';
export * from './types.js';
