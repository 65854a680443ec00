import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { ApiHeader } from '@nestjs/swagger';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import {
  addAuditDetails,
  canonicalJson,
  ConflictError,
  InvalidRequestError,
  requestState,
  UnprocessableRequestError,
} from '@platform/http';
import { IdempotencyRepository, type KeyOwner } from './idempotency.repository';

/** The request header (draft-ietf-httpapi-idempotency-key-header section 2). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Response header marking a replayed response. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';
/** How long a key is remembered, in milliseconds (24 h); after that it may be used again. */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** 1-255 visible ASCII characters (UUIDs, ULIDs, random strings). */
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Makes a POST that creates money movements (or anything else that must not happen twice) safe
 * to retry: it requires an `Idempotency-Key` header, and for one principal and key
 *
 * - the first request runs and its response (status and body) is stored;
 * - the same key with the same method, path and body (compared as canonical JSON) gets the stored
 *   response again, with `Idempotent-Replayed: true`, and nothing runs;
 * - the same key with another request is 422 `idempotency_key_reused`;
 * - the same key while the first request still runs is 409 `idempotency_request_in_progress`
 *   with `Retry-After` (concurrent duplicates: exactly one runs);
 * - the first request's claim is a lease of `IDEMPOTENCY_LEASE_MS` held by this process: if the
 *   process dies before the request completes, a retry after the lease runs the request again;
 * - a request that fails frees its key, so the client can retry it.
 *
 * A handler that must never run twice (a payment) stores its response in the transaction of its
 * change with `IdempotencyRepository.completeInTransaction(tx, response, served)` (`served`: the
 * controller's `@Served()` parameter): the key is completed if
 * and only if the change committed, and a run whose lease was taken over cannot commit.
 *
 * Keys are scoped per tenant and subject (another principal's identical key is independent) and
 * kept 24 hours. Missing or malformed keys are 400. The outcome (`created`, `replayed`,
 * `conflict`, `in_progress`) is in the audit record's details and the log line.
 */
export function Idempotent(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: true,
      description: 'Unique per operation (e.g. a UUID); retries reuse it. 1-255 visible ASCII characters.',
    }),
    UseInterceptors(IdempotencyInterceptor),
  );
}

/** Runs a handler at most once per principal and `Idempotency-Key` (see {@link Idempotent}). */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);

  constructor(private readonly repository: IdempotencyRepository) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return from(this.handle(context, next));
  }

  private async handle(context: ExecutionContext, next: CallHandler): Promise<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const key = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (key === undefined)
      throw new InvalidRequestError(
        'idempotency_key_required',
        'This operation needs an Idempotency-Key header (e.g. a UUID), reused on retries.',
      );
    if (typeof key !== 'string' || !VALID_KEY.test(key))
      throw new InvalidRequestError(
        'idempotency_key_invalid',
        'The Idempotency-Key header must be 1-255 visible ASCII characters.',
      );
    const state = requestState(request);
    const principal = state.principal;
    if (!principal) throw new Error('@Idempotent() needs an authenticated route');
    const owner: KeyOwner = { tenant: principal.tenant ?? '', subject: principal.subject };
    const path = request.url.split('?')[0];
    const requestHash = createHash('sha256')
      .update(`${request.method} ${path}\n${canonicalJson(request.body ?? null)}`)
      .digest('hex');
    const note = (outcome: string) => addAuditDetails(state, { idempotency: outcome });

    await this.repository.expire(owner, key, new Date(Date.now() - IDEMPOTENCY_KEY_RETENTION_MS));
    let token = await this.repository.claim(owner, key, requestHash);
    let outcome = 'created';
    if (!token) {
      const existing = await this.repository.find(owner, key);
      if (!existing)
        throw new ConflictError(
          'idempotency_request_in_progress',
          'A request with this Idempotency-Key is being processed; retry shortly.',
        );
      if (existing.requestHash !== requestHash) {
        note('conflict');
        throw new UnprocessableRequestError(
          'idempotency_key_reused',
          'This Idempotency-Key was already used with a different request.',
        );
      }
      if (existing.status === 'in_progress') {
        // The holder's lease ran out (it crashed, or gave up): this retry runs the request again.
        token = await this.repository.takeOver(owner, key, requestHash);
        if (!token) {
          note('in_progress');
          const leftMs = existing.leaseExpiresAt ? existing.leaseExpiresAt.getTime() - Date.now() : 1000;
          void reply.header('retry-after', String(Math.min(Math.max(1, Math.ceil(leftMs / 1000)), 3600)));
          throw new ConflictError(
            'idempotency_request_in_progress',
            'A request with this Idempotency-Key is being processed; retry shortly.',
          );
        }
        outcome = 'retried_after_lease_expiry';
      } else {
        note('replayed');
        state.replayed = true;
        void reply.status(existing.responseStatus ?? 200).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
        return existing.responseBody;
      }
    }
    const successStatus =
      (Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) as number | undefined) ??
      (request.method === 'POST' ? 201 : 200);
    const lease: NonNullable<typeof state.idempotencyLease> = { ...owner, key, token, status: successStatus };
    state.idempotencyLease = lease;
    let result: unknown;
    try {
      result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (err) {
      // Nothing was committed (a handler completing the key in its transaction rolled it back too):
      // the client may retry with the same key.
      await this.repository.release(owner, key, token).catch(() => undefined);
      throw err;
    }
    note(outcome);
    // Handlers that store their result in their own transaction (completeInTransaction) are done.
    if (lease.completed) return result;
    try {
      if (!(await this.repository.complete(owner, key, token, successStatus, result))) {
        this.logger.error(
          { key },
          'Idempotency key was taken over by a retry after its lease expired; the operation may have run twice (complete it in the transaction of the change)',
        );
      }
    } catch (err) {
      // The operation happened: the key stays claimed until its lease expires; then a retry runs
      // again. Handlers that must never run twice complete the key in their own transaction.
      this.logger.error({ err }, 'Idempotency key could not be completed');
    }
    return result;
  }
}
