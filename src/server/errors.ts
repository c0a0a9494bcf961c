export interface FieldError {
  field: string;
  message: string;
}

/** An error that becomes an API.md error body with this status; anything else becomes a generic 500. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly fieldErrors?: FieldError[],
  ) {
    super(message);
  }
}

export const badRequest = (message: string, fieldErrors?: FieldError[]) => new HttpError(400, message, fieldErrors);
export const invalidField = (field: string, message: string) =>
  new HttpError(400, `invalid request: ${field} ${message}`, [{ field, message }]);
export const unauthorized = (message = 'missing or invalid API token: send Authorization: Bearer <token>') =>
  new HttpError(401, message);
export const forbidden = (message: string) => new HttpError(403, message);
export const notFound = (what: string, id: string) => new HttpError(404, `${what} with id ${id} not found`);
export const conflict = (message: string) => new HttpError(409, message);
