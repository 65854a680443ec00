/**
 * Whether `work` settles within `ms` milliseconds: true when it resolves or rejects first (a
 * rejection counts as settled: the callers wait for a write whose failure is handled elsewhere),
 * false when `ms` passes first. Never rejects; clears its timer either way.
 */
export function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    late,
  ]).finally(() => clearTimeout(timer));
}
