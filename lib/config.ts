/**
 * Declarative settings: each setting is declared once, with the environment variable that sets it,
 * its parser, default and description. Services declare their own table (scorer/config.ts,
 * gateway/config.ts) and load it here, the only place that reads the environment. Loading reports
 * every problem at once, so an operator fixes a deployment in one go.
 */

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface Setting<T> {
  /** Environment variable that sets it. */
  readonly env: string;
  /** One sentence for the README's configuration table and error messages. */
  readonly description: string;
  /** Used when the variable is unset; settings without one are optional (undefined). */
  readonly default?: T;
  /** Turns the raw text into a value; throws an Error whose message says what is expected. */
  readonly parse: (raw: string) => T;
  /** Never printed back (error messages show the variable name only). */
  readonly secret?: boolean;
  /** How a value is written in the environment, for documentation (default String()). */
  format?(value: T): string;
}

export type SettingsSpec = Record<string, Setting<unknown>>;

type ValueOf<S extends Setting<unknown>> =
  S extends Setting<infer T> ? (S extends { default: T } ? T : T | undefined) : never;

export type Settings<S extends SettingsSpec> = { readonly [K in keyof S]: ValueOf<S[K]> };

/**
 * Reads every setting of `spec` from `env`, overridden by `overrides` (raw text, for example from
 * command-line flags, keyed by setting name). Throws one ConfigError that lists every problem.
 */
export function loadSettings<S extends SettingsSpec>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof S, string | undefined>> = {},
): Settings<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(spec)) {
    const fromFlag = overrides[key as keyof S];
    const raw = fromFlag ?? env[setting.env];
    if (raw === undefined || raw === '') {
      values[key] = setting.default;
      continue;
    }
    try {
      values[key] = setting.parse(raw);
    } catch (err) {
      const shown = setting.secret ? '' : ` (got ${JSON.stringify(raw)})`;
      const source = fromFlag !== undefined ? `option for ${setting.env}` : setting.env;
      problems.push(`${source}: ${(err as Error).message}${shown}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Settings<S>;
}

/** The README's configuration table for a spec, so the documentation cannot drift from the code. */
export function settingsTable(spec: SettingsSpec): string {
  const rows = Object.values(spec).map((s) => {
    const def = s.default === undefined ? '' : `\`${s.format ? s.format(s.default) : String(s.default)}\``;
    return `| \`${s.env}\` | ${def} | ${s.description} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export const parse = {
  string: (raw: string): string => raw,

  minLength:
    (min: number) =>
    (raw: string): string => {
      if (raw.length < min) throw new Error(`must be at least ${min} characters`);
      return raw;
    },

  integer:
    (min: number, max: number) =>
    (raw: string): number => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new Error(`expected a whole number from ${min} to ${max}`);
      }
      return n;
    },

  number:
    (min: number, max: number) =>
    (raw: string): number => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min || n > max) {
        throw new Error(`expected a number from ${min} to ${max}`);
      }
      return n;
    },

  boolean: (raw: string): boolean => {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error('expected true or false');
  },

  oneOf:
    <T extends string>(...choices: T[]) =>
    (raw: string): T => {
      if (!(choices as string[]).includes(raw)) throw new Error(`expected one of ${choices.join(', ')}`);
      return raw as T;
    },

  /** Comma-separated items, blanks around them ignored; an empty item is a mistake. */
  list: (raw: string): readonly string[] => {
    const items = raw.split(',').map((item) => item.trim());
    if (items.some((item) => item === '')) throw new Error('expected a comma-separated list without empty items');
    return items;
  },

  /** `host:port` or `[ipv6]:port`. */
  hostPort: (raw: string): HostPort => parseHostPort(raw),

  postgresUrl: (raw: string): string => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error('expected a URL such as postgres://user@host:5432/db');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw new Error('expected a postgres:// or postgresql:// URL');
    }
    return raw;
  },
};

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseHostPort(raw: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error('expected host:port, for example 127.0.0.1:50051');
  return { host: (m[1] ?? m[2]) as string, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
