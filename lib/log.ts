/**
 * The services' logger: JSON lines on stderr (stdout stays free for command output). Credentials
 * are redacted by path as a second line of defence; the first is never passing them to a logger.
 * Input events are never logged: only counts and timings.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(level: LogLevel, name: string): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'secret', '*.secret'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
