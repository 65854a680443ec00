/**
 * Base of the errors services throw. Services never throw HTTP exceptions: the global
 * {@link ProblemFilter} maps each subclass to its status and a problem+json body.
 * `message` is sent to the client as `detail`, so it must never hold internals or secrets.
 */
export abstract class PlatformError extends Error {
  abstract readonly status: number;
  constructor(
    /** Stable machine-readable reason code, e.g. `invoice_not_found`. */
    readonly reason: string,
    message: string,
    /** Extra problem members sent to the client (safe values only). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 404: the resource does not exist, or exists in another tenant (never tell which). */
export class ResourceNotFoundError extends PlatformError {
  readonly status = 404;
}

/** 409: the request conflicts with the resource's current state. */
export class ConflictError extends PlatformError {
  readonly status = 409;
}

/** 400: the request is well-formed but a value is unacceptable. */
export class InvalidRequestError extends PlatformError {
  readonly status = 400;
}

/** 403: the caller is authenticated and authorized for the route, but not for this particular change. */
export class ForbiddenChangeError extends PlatformError {
  readonly status = 403;
}

/** 422: the request is understood and well-formed, but cannot be processed as sent (e.g. an idempotency key reused with another body). */
export class UnprocessableRequestError extends PlatformError {
  readonly status = 422;
}
