import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from './database-unavailable';
import { PlatformError } from './platform-error';
import { PROBLEM_CONTENT_TYPE, problemType, titleFor, type Problem } from './problem';
import { ProblemException } from './problem.exception';
import { requestState } from './request-state';
import { RequestValidationException } from './validation';

/** Client-safe details for errors raised by Fastify itself, keyed by its error code. */
const FASTIFY_ERRORS: Record<string, { reason: string; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { reason: 'malformed_body', detail: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    reason: 'malformed_body',
    detail: 'The request body is empty but the content type is JSON.',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    reason: 'body_too_large',
    detail: 'The request body is larger than the platform accepts.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    reason: 'unsupported_media_type',
    detail: 'The content type of the body is not supported; send application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    reason: 'malformed_body',
    detail: 'The Content-Length header does not match the body.',
  },
};

/**
 * The one global exception filter: every error leaves as RFC 9457 problem+json.
 * Unknown errors become a generic 500; their name and message go to the log, never to the client,
 * and never a stack trace.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const { problem, headers } = this.toProblem(exception);
    const state = requestState(request);
    state.errorReason = problem.reason;
    problem.requestId = String(request.id);
    if (problem.reason === 'database_unavailable') {
      const err = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.warn({ err, requestId: request.id }, 'Database unavailable');
    } else if (problem.status >= 500 && problem.status !== 503) {
      const err = exception instanceof Error ? exception : new Error(String(exception));
      // The serializer keeps the error's type and message only: no stack trace in logs.
      this.logger.error({ err, requestId: request.id }, 'Unhandled error');
    }
    reply
      .status(problem.status)
      .headers({ ...headers, 'content-type': PROBLEM_CONTENT_TYPE })
      .send(problem);
  }

  private toProblem(exception: unknown): { problem: Problem; headers: Record<string, string> } {
    if (exception instanceof ProblemException) return { problem: exception.toProblem(), headers: exception.headers };
    if (exception instanceof RequestValidationException) {
      return {
        problem: {
          type: problemType('validation_failed'),
          title: titleFor(400),
          status: 400,
          detail: exception.message,
          reason: 'validation_failed',
          errors: exception.errors,
        },
        headers: {},
      };
    }
    if (exception instanceof PlatformError) {
      return {
        // Extensions first: they never replace a standard member (RFC 9457 section 3.1).
        problem: {
          ...exception.extensions,
          type: problemType(exception.reason),
          title: titleFor(exception.status),
          status: exception.status,
          detail: exception.message,
          reason: exception.reason,
        },
        headers: exception.status === 503 ? { 'retry-after': '5' } : {},
      };
    }
    const fastifyCode = (exception as { code?: string } | undefined)?.code;
    const known = fastifyCode ? FASTIFY_ERRORS[fastifyCode] : undefined;
    if (exception instanceof HttpException || known) {
      const status =
        exception instanceof HttpException
          ? exception.getStatus()
          : Number((exception as { statusCode?: number }).statusCode ?? 400);
      const reason = known?.reason ?? defaultReason(status);
      const detail =
        known?.detail ??
        (status < 500 && exception instanceof HttpException ? safeDetail(exception, status) : undefined);
      return {
        problem: { type: problemType(reason), title: titleFor(status), status, detail, reason },
        headers: {},
      };
    }
    const fastifyStatus = (exception as { statusCode?: number } | undefined)?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      const reason = defaultReason(fastifyStatus);
      return {
        problem: { type: problemType(reason), title: titleFor(fastifyStatus), status: fastifyStatus, reason },
        headers: {},
      };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        problem: {
          type: problemType('database_unavailable'),
          title: titleFor(503),
          status: 503,
          detail: 'The database is unavailable; retry later.',
          reason: 'database_unavailable',
        },
        headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
      };
    }
    return {
      problem: {
        type: problemType('internal_error'),
        title: titleFor(500),
        status: 500,
        detail: 'The platform failed to answer this request; it has been logged.',
        reason: 'internal_error',
      },
      headers: {},
    };
  }
}

function defaultReason(status: number): string {
  switch (status) {
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 413:
      return 'body_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'internal_error' : 'bad_request';
  }
}

/** Nest's own 4xx messages ("Cannot GET /x", pipe messages) are safe, but keep them short and single-line. */
function safeDetail(exception: HttpException, status: number): string {
  if (status === 404) return 'No resource matches this method and path.';
  const message = exception.message.split('\n')[0];
  return message.length > 200 ? `${message.slice(0, 200)}...` : message;
}
