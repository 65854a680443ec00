import { readFileSync } from 'node:fs';

/**
 * The leading block comment of a script file as plain text (its usage, options and exit codes),
 * with the comment markers removed; an empty string when the file does not start with one.
 *
 * @param file path of a TypeScript source file
 */
export function headerComment(file: string): string {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'));
  if (!match) return '';
  return match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/**
 * Prints the script's own header comment and exits 0 when `--help` or `-h` is among the
 * arguments: the usage lives in one place, the comment a reader of the file sees.
 *
 * @param file the script's `__filename`
 * @param args the arguments to look at (default: the process's, after the script name)
 */
export function exitWithHelpIfAsked(file: string, args: readonly string[] = process.argv.slice(2)): void {
  if (!args.includes('--help') && !args.includes('-h')) return;
  process.stdout.write(`${headerComment(file)}\n`);
  process.exit(0);
}
