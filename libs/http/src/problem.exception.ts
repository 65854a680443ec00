import { HttpException } from '@nestjs/common';
import { problemType, titleFor, type Problem } from './problem';

/**
 * An HTTP error with a complete problem body and optional response headers
 * (e.g. `WWW-Authenticate`). Thrown by guards and filters; services throw {@link PlatformError}.
 */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    readonly reason: string,
    detail: string,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail, status);
  }

  toProblem(): Problem {
    // Extensions first: they never replace a standard member (RFC 9457 section 3.1).
    return {
      ...this.extensions,
      type: problemType(this.reason),
      title: titleFor(this.getStatus()),
      status: this.getStatus(),
      detail: this.message,
      reason: this.reason,
    };
  }
}
