/**
 * `vdiguard health TARGET`: one health check for containers and probes, exit 0 when healthy. The
 * runtime image has no curl or grpc_health_probe, so Docker's HEALTHCHECK and Kubernetes exec probes
 * use this. Targets:
 *   http://host:port/path, https://...   a 2xx answer (the gateway's /healthz)
 *   grpc://host:port[/service]           grpc.health.v1 Check says SERVING (the scorer)
 *   tcp://host:port                      the port accepts a connection (the bridge, guacd)
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { credentials, makeGenericClientConstructor, type ChannelCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { Command } from 'commander';
import { VdiguardError } from './errors.js';

export interface HealthOptions {
  /** Milliseconds before the check counts as failed. */
  readonly timeoutMs: number;
  /** PEM CA for https and grpc TLS (grpc: enables TLS). */
  readonly tlsCa?: string;
  /** PEM client certificate and key (grpc mTLS). */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** Name the server's certificate must carry when it differs from the target's host. */
  readonly tlsServerName?: string;
}

export interface HealthResult {
  readonly healthy: boolean;
  readonly detail: string;
}

export async function checkHealth(target: string, o: HealthOptions): Promise<HealthResult> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new VdiguardError('invalid-argument', `not a health target: ${target} (expected http://, https://, grpc:// or tcp:// URL)`);
  }
  const port = Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  switch (url.protocol) {
    case 'http:':
    case 'https:':
      return checkHttp(url, o);
    case 'grpc:':
      if (!port) throw new VdiguardError('invalid-argument', `grpc health target needs a port: ${target}`);
      return checkGrpc(`${url.hostname}:${port}`, decodeURIComponent(url.pathname.replace(/^\//, '')), o);
    case 'tcp:':
      if (!port) throw new VdiguardError('invalid-argument', `tcp health target needs a port: ${target}`);
      return checkTcp(host, port, o.timeoutMs);
    default:
      throw new VdiguardError('invalid-argument', `unsupported health target scheme ${url.protocol} (use http, https, grpc or tcp)`);
  }
}

function checkHttp(url: URL, o: HealthOptions): Promise<HealthResult> {
  return new Promise((resolve) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'GET',
      timeout: o.timeoutMs,
      ca: o.tlsCa ? readFileSync(o.tlsCa) : undefined,
      servername: o.tlsServerName,
    }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ healthy: code >= 200 && code < 300, detail: `HTTP ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${o.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ healthy: false, detail: err.message }));
    req.end();
  });
}

function checkTcp(host: string, port: number, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ healthy: true, detail: `${host}:${port} accepts connections` });
    });
    socket.once('timeout', () => socket.destroy(new Error(`no connection in ${timeoutMs} ms`)));
    socket.once('error', (err) => resolve({ healthy: false, detail: err.message }));
  });
}

interface HealthClient {
  check(req: { service: string }, opts: { deadline: number }, cb: (err: Error | null, res?: { status: string | number }) => void): void;
  close(): void;
}

function checkGrpc(address: string, serviceName: string, o: HealthOptions): Promise<HealthResult> {
  const Client = makeGenericClientConstructor(healthService as unknown as ServiceDefinition, 'Health');
  const options = o.tlsServerName ? { 'grpc.ssl_target_name_override': o.tlsServerName, 'grpc.default_authority': o.tlsServerName } : {};
  const client = new Client(address, grpcCredentials(o), options) as unknown as HealthClient;
  return new Promise((resolve) => {
    client.check({ service: serviceName }, { deadline: Date.now() + o.timeoutMs }, (err, res) => {
      client.close();
      if (err) return resolve({ healthy: false, detail: err.message });
      const status = String(res?.status);
      resolve({ healthy: status === 'SERVING' || status === '1', detail: `grpc.health.v1 ${serviceName || '(server)'}: ${status}` });
    });
  });
}

function grpcCredentials(o: HealthOptions): ChannelCredentials {
  if (!o.tlsCa) return credentials.createInsecure();
  return credentials.createSsl(readFileSync(o.tlsCa), o.tlsKey ? readFileSync(o.tlsKey) : null, o.tlsCert ? readFileSync(o.tlsCert) : null);
}

export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('check a service and exit 0 when healthy (for container healthchecks and probes)')
    .argument('<target>', 'http(s)://host:port/path, grpc://host:port[/service] or tcp://host:port')
    .option('--timeout <ms>', 'milliseconds before the check fails', '3000')
    .option('--tls-ca <file>', 'PEM CA of the server (https; enables TLS for grpc)')
    .option('--tls-cert <file>', 'PEM client certificate (grpc mTLS)')
    .option('--tls-key <file>', 'PEM client key (grpc mTLS)')
    .option('--tls-server-name <name>', "name in the server's certificate, when it is not the target's host")
    .action(async (target: string, f: { timeout: string; tlsCa?: string; tlsCert?: string; tlsKey?: string; tlsServerName?: string }) => {
      const timeoutMs = Number(f.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new VdiguardError('invalid-argument', `--timeout must be a whole number of milliseconds (got ${f.timeout})`);
      const result = await checkHealth(target, { timeoutMs, tlsCa: f.tlsCa, tlsCert: f.tlsCert, tlsKey: f.tlsKey, tlsServerName: f.tlsServerName });
      process.stdout.write(`${result.healthy ? 'healthy' : 'unhealthy'}: ${result.detail}\n`);
      if (!result.healthy) process.exitCode = 1;
    });
}
