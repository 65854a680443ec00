import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A process holding a listening TCP port, as far as /proc tells. */
export interface PortHolder {
  pid: number;
  /** Its command line, spaces between arguments, at most 120 characters. */
  command: string;
}

/**
 * Finds the process listening on TCP `port`, best effort: Linux only (/proc/net/tcp and tcp6 give
 * the socket's inode, /proc/<pid>/fd links name it); processes of other users are invisible
 * without privileges. Never throws.
 *
 * @returns undefined when the holder cannot be found
 */
export function findPortHolder(port: number): PortHolder | undefined {
  try {
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
        if (fields.length < 10 || fields[3] !== '0A') continue;
        if (Number.parseInt(fields[1].split(':')[1], 16) === port && fields[9] !== '0')
          inodes.add(`socket:[${fields[9]}]`);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${entry}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        } catch {
          continue;
        }
        if (!inodes.has(target)) continue;
        let command = '';
        try {
          command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        } catch {
          // the process may have just exited
        }
        return { pid: Number(entry), command: command.length > 120 ? `${command.slice(0, 117)}...` : command };
      }
    }
  } catch {
    // best effort: /proc absent or unreadable
  }
  return undefined;
}

/**
 * Runs `listen` and turns an EADDRINUSE into an error that names the setting to change and, when
 * it can, the process holding the port. Other errors pass through unchanged.
 *
 * @param setting the environment variable that chose the port (`PORT`, `DEV_OIDC_PORT`)
 * @throws Error `PORT=3000: 127.0.0.1:3000 is already in use by process 123 (node dist/src/main.js); ...`
 */
export async function explainPortInUse<T>(
  setting: string,
  host: string,
  port: number,
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const holder = findPortHolder(port);
    const by = holder ? ` by process ${holder.pid}${holder.command ? ` (${holder.command})` : ''}` : '';
    throw new Error(
      `${setting}=${port}: ${host}:${port} is already in use${by}. Stop that process or set ${setting} to a free port (0 picks one).`,
      { cause: err },
    );
  }
}
