/**
 * The server side of the Guacamole handshake for `rdp`, as guacd performs it. Pure: the connection
 * feeds it instructions and sends what it returns.
 *
 *   client: select,rdp            server: args,VERSION_1_5_0,hostname,port,...
 *   client: size / audio / video / image / timezone / name (any order, all optional)
 *   client: connect,VERSION_x,values...   server: ready,$id
 *
 * Older clients: a `connect` without a version first is protocol 1.0.0; its values line up with the
 * names after the version, or with all of `args` (a client that filled the version slot too).
 */
import { GuacStatus, type GuacStatusCode } from '../guac/status.js';
import type { Instruction } from '../guac/encoder.js';
import { parseCertFingerprints } from '../guac/fingerprints.js';
import { DEFAULT_KEYMAP, KEYMAPS } from './keymaps/layouts.js';

export const PROTOCOL_VERSION = 'VERSION_1_5_0';

/**
 * guacd's RDP parameter names, in guacd's order. Those the bridge uses are described; the others are
 * accepted so that clients written for guacd can send them, and ignored.
 */
export const RDP_ARGS = [
  'hostname', 'port', 'timeout', 'domain', 'username', 'password', 'width', 'height', 'dpi',
  'initial-program', 'color-depth', 'disable-audio', 'enable-printing', 'printer-name', 'enable-drive',
  'drive-name', 'drive-path', 'create-drive-path', 'disable-download', 'disable-upload', 'console',
  'console-audio', 'server-layout', 'security', 'ignore-cert', 'cert-tofu', 'cert-fingerprints',
  'disable-auth', 'remote-app', 'remote-app-dir', 'remote-app-args', 'static-channels', 'client-name',
  'enable-wallpaper', 'enable-theming', 'enable-font-smoothing', 'enable-full-window-drag',
  'enable-desktop-composition', 'enable-menu-animations', 'disable-bitmap-caching',
  'disable-offscreen-caching', 'disable-glyph-caching', 'preconnection-id', 'preconnection-blob',
  'timezone', 'enable-sftp', 'sftp-hostname', 'sftp-port', 'sftp-username', 'sftp-password',
  'recording-path', 'recording-name', 'resize-method', 'enable-audio-input', 'enable-touch',
  'read-only', 'disable-copy', 'disable-paste',
] as const;

export type RdpArg = (typeof RDP_ARGS)[number];

export class HandshakeError extends Error {
  constructor(
    readonly status: GuacStatusCode,
    message: string,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/** What the client told about itself before `connect`. */
export interface ClientInfo {
  /** Optimal display size in pixels, and resolution in DPI (`size`). */
  width?: number;
  height?: number;
  dpi?: number;
  audio: string[];
  video: string[];
  image: string[];
  timezone?: string;
  name?: string;
}

export function emptyClientInfo(): ClientInfo {
  return { audio: [], video: [], image: [] };
}

/** Records one pre-connect instruction; false for an opcode that is not part of the handshake. */
export function applyClientInfo(info: ClientInfo, ins: Instruction): boolean {
  switch (ins.opcode) {
    case 'size': {
      const [w, h, dpi] = ins.args.map((a) => Number(a));
      if (!isDimension(w) || !isDimension(h)) {
        throw new HandshakeError(GuacStatus.CLIENT_BAD_REQUEST, `"size" needs a width and height in pixels (got ${JSON.stringify(ins.args.slice(0, 3))})`);
      }
      info.width = w;
      info.height = h;
      if (dpi !== undefined && Number.isInteger(dpi) && dpi > 0) info.dpi = dpi;
      return true;
    }
    case 'audio':
    case 'video':
    case 'image':
      info[ins.opcode] = [...ins.args];
      return true;
    case 'timezone':
      if (ins.args[0]) info.timezone = ins.args[0];
      return true;
    case 'name':
      if (ins.args[0]) info.name = ins.args[0];
      return true;
    default:
      return false;
  }
}

function isDimension(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= 64 && n <= 8192;
}

/** The protocol version and the named values of a `connect`. */
export function parseConnect(args: readonly string[]): { version: string; values: Map<RdpArg, string> } {
  let version = 'VERSION_1_0_0';
  let rest = args;
  if (args[0]?.startsWith('VERSION_')) {
    if (!/^VERSION_\d+_\d+_\d+$/.test(args[0])) {
      throw new HandshakeError(GuacStatus.CLIENT_BAD_REQUEST, `"connect" names an unknown protocol version ${JSON.stringify(args[0].slice(0, 40))}`);
    }
    version = args[0];
    rest = args.slice(1);
  } else if (args.length === RDP_ARGS.length + 1) {
    rest = args.slice(1); // an old client that answered the version slot with a value of its own
  }
  if (rest.length !== RDP_ARGS.length) {
    throw new HandshakeError(GuacStatus.CLIENT_BAD_REQUEST,
      `"connect" has ${rest.length} parameter values; "args" named ${RDP_ARGS.length} (after the protocol version)`);
  }
  const values = new Map<RdpArg, string>();
  RDP_ARGS.forEach((name, i) => values.set(name, rest[i] as string));
  return { version, values };
}

/** The connection the client asked for, validated. */
export interface ConnectionRequest {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly domain: string;
  readonly width: number;
  readonly height: number;
  readonly colorDepth: 15 | 16 | 24 | 32;
  readonly keymap: string;
  readonly ignoreCert: boolean;
  readonly fingerprints: readonly string[];
  readonly readOnly: boolean;
}

const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^[0-9a-fA-F:.]+$/;

/** Validates the values; every problem is reported at once, in one CLIENT_BAD_REQUEST. */
export function connectionRequest(values: ReadonlyMap<RdpArg, string>, info: ClientInfo): ConnectionRequest {
  const problems: string[] = [];
  const get = (name: RdpArg) => (values.get(name) ?? '').trim();
  const bool = (name: RdpArg) => ['true', '1', 'yes'].includes(get(name).toLowerCase());

  const host = get('hostname');
  if (!host) problems.push('hostname is missing');
  else if (!HOSTNAME.test(host) || host.length > 253) problems.push(`hostname ${JSON.stringify(host.slice(0, 64))} is not a host name or address`);

  const port = get('port') === '' ? 3389 : Number(get('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port ${JSON.stringify(get('port'))} is not a port number (1-65535)`);

  const dimension = (name: 'width' | 'height', fallback: number | undefined): number => {
    const raw = get(name);
    const n = raw === '' ? (fallback ?? (name === 'width' ? 1024 : 768)) : Number(raw);
    if (!isDimension(n)) problems.push(`${name} ${JSON.stringify(raw)} is not a size in pixels (64-8192)`);
    return n;
  };
  const width = dimension('width', info.width);
  const height = dimension('height', info.height);

  const depthText = get('color-depth');
  const colorDepth = depthText === '' ? 24 : Number(depthText);
  if (![15, 16, 24, 32].includes(colorDepth)) problems.push(`color-depth ${JSON.stringify(depthText)} is not one of 15, 16, 24, 32`);

  const security = get('security').toLowerCase();
  if (!['', 'any', 'tls'].includes(security)) {
    if (['nla', 'nla-ext', 'rdp', 'vmconnect'].includes(security)) {
      throw new HandshakeError(GuacStatus.UNSUPPORTED, `security "${security}" is not supported by the built-in bridge, which speaks TLS only (use guacd)`);
    }
    problems.push(`security ${JSON.stringify(security)} is not one of any, tls, nla, nla-ext, rdp, vmconnect`);
  }

  const layout = get('server-layout') || DEFAULT_KEYMAP;
  if (!KEYMAPS[layout]) problems.push(`server-layout ${JSON.stringify(layout)} is not one of ${Object.keys(KEYMAPS).join(', ')}`);

  const { fingerprints, problems: pinProblems } = parseCertFingerprints(get('cert-fingerprints'));
  for (const p of pinProblems) problems.push(`cert-fingerprints: ${p}`);

  if (problems.length > 0) throw new HandshakeError(GuacStatus.CLIENT_BAD_REQUEST, `invalid connection parameters: ${problems.join('; ')}`);
  return {
    host,
    port,
    username: values.get('username') ?? '',
    password: values.get('password') ?? '',
    domain: get('domain'),
    width,
    height,
    colorDepth: colorDepth as 15 | 16 | 24 | 32,
    keymap: layout,
    ignoreCert: bool('ignore-cert'),
    fingerprints,
    readOnly: bool('read-only'),
  };
}
