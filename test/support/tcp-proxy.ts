import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP relay in front of a real server (PostgreSQL), to take it away from the platform without
 * stopping it for the other suites running at the same time: `cut()` resets every open connection
 * and refuses new ones, as a database that went down would; `restore()` lets connections through
 * again.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<[Socket, Socket]>();
  private down = false;
  private stalled = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Starts relaying 127.0.0.1:<random port> to `target` (host and port). */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      client.on('error', () => undefined);
      if (!proxy || proxy.down) {
        client.resetAndDestroy();
        return;
      }
      if (proxy.stalled) {
        // Accepted, and then never answered.
        proxy.sockets.add(client);
        client.on('close', () => proxy?.sockets.delete(client));
        return;
      }
      const upstream = createConnection(target);
      upstream.on('error', () => undefined);
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('close', () => proxy?.sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
      const pair: [Socket, Socket] = [client, upstream];
      proxy.pairs.add(pair);
      client.on('close', () => proxy?.pairs.delete(pair));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** The database is gone: every connection is reset, new ones are refused. */
  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  /**
   * The server hangs: connections stay open, nothing is relayed any more (a peer silently dropping
   * packets), new connections are accepted and never answered.
   */
  stall(): void {
    this.stalled = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
  }

  /** The server is back (after `cut()` or `stall()`); stalled connections are reset. */
  restore(): void {
    if (this.stalled) {
      for (const socket of this.sockets) socket.resetAndDestroy();
      this.sockets.clear();
      this.pairs.clear();
    }
    this.down = false;
    this.stalled = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
