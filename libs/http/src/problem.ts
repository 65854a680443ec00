/**
 * An RFC 9457 problem details object, as sent with `Content-Type: application/problem+json`.
 * `reason` is the platform's stable machine-readable code (also written to the audit trail).
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  reason?: string;
  requestId?: string;
  /**
   * Field-level validation errors: `path` is the dotted location, e.g. `events.0.ts`; `in`, when
   * given, says where (`body`, `query`, `path` or `header`, as OpenAPI names parameter locations).
   */
  errors?: { path: string; in?: 'body' | 'query' | 'path' | 'header'; messages: string[] }[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Standard title for an HTTP status (RFC 9110 reason phrases). */
export function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Request Error');
}

/** Stable `type` URI for a reason code: documented in docs/errors.md. */
export function problemType(reason: string | undefined): string {
  return reason ? `urn:platform:problem:${reason}` : 'about:blank';
}
