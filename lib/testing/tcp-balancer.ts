/**
 * A TCP forwarder on loopback in front of several servers, as a Kubernetes Service in front of a
 * Deployment's pods: each new connection goes to the next target in turn, and to the one after
 * when a target refuses (a pod that is stopping or starting). Open connections stay where they are.
 */
import net from 'node:net';

export interface TcpBalancer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startTcpBalancer(targets: readonly { host: string; port: number }[]): Promise<TcpBalancer> {
  let next = 0;
  const open = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    open.add(s);
    s.on('close', () => open.delete(s));
  };
  /** Connects to the first target that accepts, trying each once from the next in turn. */
  const connect = (client: net.Socket, tried = 0): void => {
    if (tried >= targets.length) {
      client.destroy();
      return;
    }
    const target = targets[next++ % targets.length] as { host: string; port: number };
    const upstream = net.connect(target.port, target.host);
    let connected = false;
    upstream.once('error', () => {
      if (!connected) connect(client, tried + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    connect(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
