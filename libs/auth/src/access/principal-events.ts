import { Injectable, Logger } from '@nestjs/common';
import type { Principal } from '../principal';

/**
 * Tells feature apps who the platform authenticated, so that, for example, user management can
 * provision users just in time from any request, not only from its own routes. Listeners run on
 * the request path, synchronously: they must only note the principal (a Map lookup) and do any
 * I/O later, off the request. A throwing listener is logged and ignored.
 */
@Injectable()
export class PrincipalEvents {
  private readonly logger = new Logger(PrincipalEvents.name);
  private readonly listeners = new Set<(principal: Principal) => void>();

  /** Calls `listener` with every principal the guard lets through; returns the unsubscribe function. */
  onAuthenticated(listener: (principal: Principal) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called by the guard after a principal passed every check. */
  authenticated(principal: Principal): void {
    for (const listener of this.listeners) {
      try {
        listener(principal);
      } catch (err) {
        this.logger.error({ err }, 'Principal listener failed');
      }
    }
  }
}
