/**
 * Compares freshly generated access-map files with the committed ones.
 *
 * @param expected file name -> generated text
 * @param read reads a committed file (undefined: missing)
 * @returns null when every file matches; otherwise a message naming the stale files, the first
 *   differing lines, and how to regenerate
 */
export function checkAccessMapFiles(
  expected: Record<string, string>,
  read: (name: string) => string | undefined,
): string | null {
  const problems: string[] = [];
  for (const [name, text] of Object.entries(expected)) {
    const committed = read(name);
    if (committed === undefined) {
      problems.push(`${name} is missing`);
      continue;
    }
    if (committed === text) continue;
    const want = text.split('\n');
    const have = committed.split('\n');
    const first = want.findIndex((line, i) => line !== have[i]);
    const at = first < 0 ? want.length : first;
    problems.push(
      `${name} is stale (first difference at line ${at + 1}):\n    committed: ${have[at] ?? '(end of file)'}\n    policy now: ${want[at] ?? '(end of file)'}`,
    );
  }
  if (problems.length === 0) return null;
  return `The access map does not match the routes and the policy:\n  ${problems.join('\n  ')}\nRun \`npm run access-map\` and commit access-map.md and access-map.json (they show who may call what).`;
}
