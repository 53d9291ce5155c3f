/**
 * Why a server could not listen, in words an operator can act on: the address, the cause, what
 * usually explains it and the setting that moves the server elsewhere. Node's errors carry the
 * cause as `code`; grpc-js only inside its message, so both are read.
 */
import { createServer } from 'node:net';
import { formatHostPort, type HostPort } from './config.js';
import { VdiguardError } from './errors.js';

const CAUSES: Record<string, { cause: string; meaning: string }> = {
  EADDRINUSE: { cause: 'address in use', meaning: 'another process has the port' },
  EACCES: { cause: 'permission denied', meaning: 'ports below 1024 need privileges this process does not have' },
  EADDRNOTAVAIL: { cause: 'address not available', meaning: 'no network interface of this machine has that address' },
  ENOTFOUND: { cause: 'host not found', meaning: 'the host name does not resolve' },
  EAI_AGAIN: { cause: 'host not found', meaning: 'the host name could not be resolved now' },
};

/**
 * `cannot listen on 127.0.0.1:8080 (address in use): another process has the port; set
 * VDIGUARD_GATEWAY_LISTEN or --listen`. `change` names what moves the server: a setting, a flag.
 */
export function listenError(address: HostPort, err: unknown, change: string): VdiguardError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? /\b(E[A-Z_]{3,})\b/.exec(message)?.[1];
  const known = code ? CAUSES[code] : undefined;
  const why = known ? `(${known.cause}): ${known.meaning}` : `(${message})`;
  return new VdiguardError('unavailable', `cannot listen on ${formatHostPort(address)} ${why}; set ${change}`, { cause: err });
}

/**
 * Listens on `address` and lets it go again, for a server another process will open there (the
 * built-in bridge): its start-up then fails here, in the parent's words, rather than in a child.
 */
export function checkCanListen(address: HostPort, change: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(address, err, change)));
    probe.listen(address.port, address.host, () => probe.close(() => resolve()));
  });
}
