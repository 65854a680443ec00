import { accessToken, signOut } from './auth.js';

/** An API error: `status` and the RFC 9457 problem body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Calls the platform API with the signed-in person's token (Authorization: Bearer; never a cookie,
 * so there is nothing a cross-site request could ride on). A 401 ends the session.
 * @returns the JSON body (null for an empty answer)
 * @throws ApiError for any answer >= 400
 */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${accessToken()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const type = response.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await response.json() : null;
  if (response.status === 401) {
    signOut('Your session has ended (the API no longer accepts the token). Sign in again.');
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
