/**
 * Agents and desktops administration over a running gateway's admin API: what the CLI uses when a
 * gateway owns the embedded store (lib/db/owner.ts), so its changes are the gateway's at once.
 * Over HTTPS the gateway is trusted only with the certificate it was configured with
 * (VDIGUARD_GATEWAY_TLS_CERT), whatever name it has, so the admin token goes nowhere else.
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { VdiguardError, type ErrorCode } from '../../lib/errors.js';
import type { Desktop } from '../store/gateway-store.js';
import type { AgentsAndDesktops, AgentView, CheckResult, Fields, Provisioning, UnlockResult } from './management.js';

export interface GatewayAdmin {
  /** The gateway's URL (http(s)://host:port). */
  readonly url: string;
  readonly adminToken: string;
  /** PEM of the gateway's own certificate, for HTTPS. */
  readonly tlsCert?: string;
  /** Said when the gateway does not answer: what to do. */
  readonly unreachableHint: string;
}

export class RemoteManagement implements AgentsAndDesktops {
  constructor(private readonly g: GatewayAdmin) {}

  async listAgents(): Promise<AgentView[]> {
    return (await this.call<{ agents: AgentView[] }>('GET', '/api/admin/agents')).agents;
  }
  addAgent(f: Fields): Promise<{ agent: AgentView; totp: Provisioning }> {
    return this.call('POST', '/api/admin/agents', f);
  }
  updateAgent(agentId: string, f: Fields): Promise<{ agent: AgentView }> {
    return this.call('PATCH', `/api/admin/agents/${enc(agentId)}`, f);
  }
  resetMfa(agentId: string): Promise<{ totp: Provisioning }> {
    return this.call('POST', `/api/admin/agents/${enc(agentId)}/reset-mfa`, {});
  }
  unlockAgent(agentId: string): Promise<UnlockResult> {
    return this.call('POST', `/api/admin/agents/${enc(agentId)}/unlock`, {});
  }
  removeAgent(agentId: string): Promise<{ removed: string }> {
    return this.call('DELETE', `/api/admin/agents/${enc(agentId)}`);
  }
  async listDesktops(): Promise<Desktop[]> {
    return (await this.call<{ desktops: Desktop[] }>('GET', '/api/admin/desktops')).desktops;
  }
  addDesktop(f: Fields): Promise<{ desktop: Desktop }> {
    return this.call('POST', '/api/admin/desktops', f);
  }
  updateDesktop(desktopId: string, f: Fields): Promise<{ desktop: Desktop }> {
    return this.call('PATCH', `/api/admin/desktops/${enc(desktopId)}`, f);
  }
  removeDesktop(desktopId: string): Promise<{ removed: string }> {
    return this.call('DELETE', `/api/admin/desktops/${enc(desktopId)}`);
  }
  assign(desktopId: string, agentId: string): Promise<{ desktop: Desktop }> {
    return this.call('PUT', `/api/admin/desktops/${enc(desktopId)}/agents/${enc(agentId)}`);
  }
  unassign(desktopId: string, agentId: string): Promise<{ desktop: Desktop }> {
    return this.call('DELETE', `/api/admin/desktops/${enc(desktopId)}/agents/${enc(agentId)}`);
  }
  checkDesktop(desktopId: string): Promise<CheckResult> {
    return this.call('POST', `/api/admin/desktops/${enc(desktopId)}/check`, {});
  }
  checkTarget(f: Fields): Promise<CheckResult> {
    return this.call('POST', '/api/admin/desktops/check', f);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.g.url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options: RequestOptions = {
      method,
      headers: { authorization: `Bearer ${this.g.adminToken}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      timeout: 30_000,
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { ...options, ...this.tls() }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let answer: { error?: string; code?: ErrorCode; field?: string };
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof answer;
          } catch {
            return reject(new VdiguardError('unavailable', `the gateway at ${this.g.url} answered ${method} ${path} with HTTP ${res.statusCode} and no JSON: is it a vdiguard gateway?`));
          }
          if ((res.statusCode ?? 500) < 400) return resolve(answer as T);
          reject(new VdiguardError(answer.code ?? 'internal', answer.error ?? `HTTP ${res.statusCode}`, { field: answer.field }));
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (err) => reject(new VdiguardError('unavailable', `the gateway at ${this.g.url} does not answer (${err.message}): ${this.g.unreachableHint}`)));
      req.end(payload);
    });
  }

  /** HTTPS: the gateway's own certificate, pinned by its fingerprint (its name may not be the loopback address). */
  private tls(): object {
    if (!this.g.tlsCert) return {};
    const pinned = new X509Certificate(this.g.tlsCert).fingerprint256;
    return {
      ca: [...rootCertificates, this.g.tlsCert],
      checkServerIdentity: (_host: string, cert: { fingerprint256: string }) =>
        cert.fingerprint256 === pinned ? undefined : new Error(`the gateway's certificate is not the one in VDIGUARD_GATEWAY_TLS_CERT`),
    };
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
