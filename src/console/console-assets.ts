import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** A static file of the console, read once at start-up. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Folder of the console's files: beside this module in the sources and in the build (nest-cli assets). */
export const CONSOLE_PUBLIC_DIR = path.join(__dirname, 'public');

/**
 * Every file of the console's public folder (one level of subfolders), keyed by its path relative
 * to it (`index.html`, `assets/js/main.js`). Only these are ever served: a request names a key, never a
 * path on disk.
 *
 * @throws Error when the folder is missing (a build without the console's assets)
 */
export function loadConsoleAssets(dir = CONSOLE_PUBLIC_DIR): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(name);
      else if (TYPES[path.extname(entry.name)])
        assets.set(name, { body: readFileSync(path.join(dir, name)), contentType: TYPES[path.extname(entry.name)] });
    }
  };
  walk('');
  return assets;
}
