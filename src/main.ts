// First: the tracing instrumentations must patch modules before they are loaded.
import { shutdownTracing } from './tracing';
import 'reflect-metadata';
import { ConfigError } from '@platform/config';
import { startPlatform } from './bootstrap';

async function main(): Promise<void> {
  const platform = await startPlatform();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    platform
      .close()
      .then(() => shutdownTracing())
      .then(() => process.exit(0))
      .catch((err: Error) => {
        process.stderr.write(`shutdown after ${signal} failed: ${err.message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  // Configuration problems name the variable, never its value.
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `Platform failed to start: ${err.message}\n`);
  process.exit(1);
});
