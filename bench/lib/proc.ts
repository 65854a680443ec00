import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/**
 * CPU time (seconds) the process has used so far: user + system time of all its threads
 * (`utime`, `stime`), plus that of children it forked and waited for (`cutime`, `cstime`).
 * Linux only (`/proc/<pid>/stat`).
 */
export function cpuSeconds(pid: number): number {
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** Resident set size of the process now, in MiB (`VmRSS`); 0 when it has gone. */
export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Pauses (SIGSTOP) every process but `active`, resumes (SIGCONT) `active`: the measured server
 * gets the cores alone (but for the load generator and the database). Processes that have exited
 * are passed over.
 */
export function isolate(pids: readonly number[], active: number | undefined): void {
  for (const pid of pids) {
    try {
      process.kill(pid, pid === active ? 'SIGCONT' : 'SIGSTOP');
    } catch {
      // Gone already: nothing to pause.
    }
  }
}

/** Resumes every process (before shutdown, and on any exit of the runner). */
export function resumeAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Gone already.
    }
  }
}
