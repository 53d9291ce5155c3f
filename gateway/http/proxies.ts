/**
 * Which client a request came from when proxies stand in front of the gateway. X-Forwarded-For is
 * written by whoever sends the request, so an entry is believed only when the hop that appended it
 * is a proxy the operator named (by address or CIDR); a client talking to the gateway directly can
 * put anything there and is judged by its socket's peer address alone.
 */
import { BlockList, isIP } from 'node:net';

/** The proxies whose X-Forwarded-For entries are believed. */
export interface TrustedProxies {
  /** The settings' text, for documentation and error messages. */
  readonly text: string;
  has(address: string): boolean;
}

/**
 * Parses `10.0.0.0/8,192.0.2.7,fd00::/8`: addresses and CIDR ranges, IPv4 or IPv6, comma
 * separated; empty trusts no proxy. Throws an Error saying which entry is wrong.
 */
export function parseTrustedProxies(raw: string): TrustedProxies {
  const list = new BlockList();
  const entries = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const length = prefix === undefined ? bits : Number(prefix);
    if (family === 0 || extra !== undefined || !/^\d*$/.test(prefix ?? '') || prefix === '' || length > bits) {
      throw new Error(`"${entry}" is not an IP address or CIDR range (expected for example 10.0.0.0/8,192.0.2.7,fd00::/8)`);
    }
    list.addSubnet(address, length, family === 4 ? 'ipv4' : 'ipv6');
  }
  // BlockList matches IPv4 rules against IPv4-mapped IPv6 peers (::ffff:10.0.0.1) by itself.
  return { text: entries.join(','), has: (address) => isIP(address) !== 0 && list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6') };
}

export const NO_TRUSTED_PROXIES: TrustedProxies = parseTrustedProxies('');

/**
 * The client's address: the socket's peer, or, when the peer is a trusted proxy, the first entry of
 * X-Forwarded-For from the right that no trusted proxy wrote. An entry that is not an address (a
 * misbehaving proxy) stops the walk at the last trusted hop rather than letting text through.
 * IPv4-mapped IPv6 addresses are reported as plain IPv4, so one client has one address.
 */
export function clientAddress(peer: string, forwardedFor: string | readonly string[] | undefined, trusted: TrustedProxies): string {
  let address = plainAddress(peer) ?? peer;
  if (!trusted.has(address)) return address;
  const hops = (typeof forwardedFor === 'string' ? [forwardedFor] : forwardedFor ?? []).flatMap((h) => h.split(','));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i] as string);
    if (hop === undefined) return address;
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}

/** An address without port, brackets or IPv4-mapping; undefined when it is not an IP address. */
function plainAddress(raw: string): string | undefined {
  const text = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text);
  const address = bracketed?.[1] ?? v4WithPort?.[1] ?? text;
  if (isIP(address) === 0) return undefined;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] ?? address.toLowerCase();
}
