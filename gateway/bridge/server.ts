/**
 * The bridge daemon: a TCP server speaking guacd's side of the Guacamole protocol, one
 * BridgeConnection per client, each isolated (its own parser, framebuffer, RDP session, timers).
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import type { Logger } from '../../lib/log.js';
import { formatHostPort, type HostPort, type Settings } from '../../lib/config.js';
import { VdiguardError } from '../../lib/errors.js';
import { listenError } from '../../lib/listen.js';
import { encodeInstruction } from '../guac/encoder.js';
import { GuacStatus } from '../guac/status.js';
import { BridgeConnection, type ConnectionOptions } from './connection.js';
import { BRIDGE_SETTINGS, type BridgeSettingsSpec } from './config.js';

export class BridgeServer {
  private readonly server: net.Server;
  readonly connections = new Set<BridgeConnection>();
  private readonly options: ConnectionOptions;

  constructor(
    private readonly settings: Settings<BridgeSettingsSpec>,
    private readonly log: Logger,
  ) {
    let ca: Buffer | undefined;
    if (settings.caFile) {
      try {
        ca = readFileSync(settings.caFile);
      } catch (err) {
        throw new VdiguardError('invalid-argument', `VDIGUARD_BRIDGE_CA_FILE: cannot read ${settings.caFile}: ${(err as Error).message}`);
      }
    }
    this.options = { ...settings, ca };
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => log.error({ err }, 'bridge server error'));
  }

  private accept(socket: net.Socket): void {
    if (this.connections.size >= this.settings.maxConnections) {
      socket.on('error', () => socket.destroy());
      socket.end(encodeInstruction('error', `the bridge is serving its maximum of ${this.settings.maxConnections} connections`, GuacStatus.SERVER_BUSY));
      return;
    }
    try {
      const connection = new BridgeConnection(socket, this.options, this.log);
      this.connections.add(connection);
      connection.onClose(() => this.connections.delete(connection));
    } catch (err) {
      this.log.error({ err }, 'could not set up a connection');
      socket.destroy();
    }
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(at: HostPort = this.settings.listen): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(listenError(at, err, `${BRIDGE_SETTINGS.listen.env} or --listen`));
      this.server.once('error', onError);
      this.server.listen(at.port, at.host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as net.AddressInfo;
        this.log.info({ listen: formatHostPort({ host: a.address, port: a.port }) }, 'bridge listening');
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /**
   * Drains: stops accepting at once (a refused connection fails the readiness probe, and the Service
   * sends new sessions to another replica), lets live connections run until they end or `graceMs`
   * passes, then ends the rest with SERVER_BUSY. That status is not final for the agent's page: it
   * reconnects through the gateway, and the desktop resumes the user's session on another bridge.
   * Resolves when every connection is closed.
   */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const live = this.connections.size;
    if (live > 0 && graceMs > 0) {
      this.log.info({ connections: live, graceMs }, 'draining: accepting no new connections');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    if (this.connections.size > 0) this.log.info({ connections: this.connections.size }, 'ending the connections still open');
    for (const c of [...this.connections]) c.abort(GuacStatus.SERVER_BUSY, 'the bridge is restarting: reconnect to resume the session');
    await closed;
  }
}
