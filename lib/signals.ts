/** How the long-running commands wait to be stopped. */
import type { Logger } from './log.js';

/** Resolves at the first SIGINT or SIGTERM, logging which one arrived. */
export function untilSignalled(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
