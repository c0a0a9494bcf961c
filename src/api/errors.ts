import { UserError } from '../cli/errors.js';

export interface FieldError {
  field: string;
  message: string;
}

/** A non-2xx answer from the API (API.md §Conventions, errors). */
export class ApiError extends UserError {
  constructor(
    readonly status: number,
    readonly apiMessage: string,
    readonly requestId: string | undefined,
    readonly fieldErrors: FieldError[] = [],
    message?: string,
  ) {
    super(message ?? ApiError.describe(status, apiMessage, requestId, fieldErrors));
    this.name = 'ApiError';
  }

  static describe(status: number, apiMessage: string, requestId: string | undefined, fieldErrors: FieldError[]): string {
    const fields = fieldErrors.map((f) => `\n  ${f.field}: ${f.message}`).join('');
    const request = requestId ? `, request id ${requestId}` : '';
    return `${apiMessage} (HTTP ${status}${request})${fields}`;
  }
}

/** The exact message API.md defines for `showSecrets` when the organization does not allow it. */
export const SHOW_SECRETS_FORBIDDEN = /showSecrets on organization with id (\S+) is not allowed/;
