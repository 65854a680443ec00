// @platform/http: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { titleFor, problemType, type Problem, PROBLEM_CONTENT_TYPE } from './problem';
export { ProblemException } from './problem.exception';
export { ProblemFilter } from './problem.filter';
export {
  ResourceNotFoundError,
  ConflictError,
  InvalidRequestError,
  ForbiddenChangeError,
  UnprocessableRequestError,
} from './platform-error';
export { requestIdFrom, REQUEST_ID_HEADER } from './request-id';
export { uuidV7 } from './uuid-v7';
export { addAuditDetails, recordDecision, requestState, type RequestState } from './request-state';
export { Served, servedRequestOf, type ServedRequest } from './request-context';
export { createValidationPipe, UuidParam } from './validation';
export { readPage, PageQuery, type Page, type CursorPosition } from './pagination';
export { registerJsonBodyParser } from './json-body';
export { canonicalJson } from './canonical-json';
export { IsRfc3339DateTime, isRfc3339DateTime } from './rfc3339';
export { isPlainJson, registerFastAccept, type FastAccept } from './fast-accept';
export { findInputFlaw, registerInputHygiene } from './input-hygiene';
export { baselineSecurityHeaders, registerSecurityHeaders, DOCS_OAUTH_REDIRECT_PATH } from './security-headers';
