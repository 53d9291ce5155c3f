/**
 * The browser's Origin check, against cross-site pages: a page on another site can make the agent's
 * browser open the tunnel or send API requests, but it cannot change the Origin header the browser
 * puts on them. A request is same-origin when Origin names the host (and port) the request was made
 * to, as its Host header says, or when Origin is one of the operator's allowed origins.
 *
 * What this does not stop, by design: a client that is not a browser sends any Origin and Host it
 * likes, and one that sends no Origin at all is let through. Those clients are the agent's own
 * programs, which hold their own credentials anyway; the controls against them are the login, the
 * tickets and the tap, not this header.
 */

/** Parses `https://vdi.example.com,https://portal.example.com:8443` into normalised origins. */
export function parseAllowedOrigins(raw: string): readonly string[] {
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    if (!url || !['https:', 'http:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
      throw new Error(`"${entry}" is not an origin (expected scheme://host[:port] without a path, for example https://vdi.example.com)`);
    }
    return url.origin;
  });
}

/**
 * Why a browser request must be refused, or undefined when it may go on. `origin` and `host` are the
 * request's headers as received.
 */
export function crossOriginProblem(origin: string | undefined, host: string | undefined, allowed: readonly string[]): string | undefined {
  if (origin === undefined) return undefined;
  const opaque = 'a page without an origin of its own (sandboxed, file: or an extension) may not use this gateway';
  if (origin === 'null') return opaque;
  if (!URL.canParse(origin)) return `the Origin header ${JSON.stringify(origin.slice(0, 100))} is not an origin`;
  const url = new URL(origin);
  if (url.origin === 'null') return opaque;
  if (allowed.includes(url.origin)) return undefined;
  if (host !== undefined && sameHost(url, host)) return undefined;
  return `a page from ${url.origin} may not use this gateway (served as ${host?.slice(0, 100) ?? 'an unnamed host'}); add the origin to VDIGUARD_GATEWAY_ALLOWED_ORIGINS if the gateway's pages are served from there`;
}

/** Origin's host and port against the Host header's; a missing port is the Origin scheme's default. */
function sameHost(origin: URL, host: string): boolean {
  const text = `${origin.protocol}//${host}`;
  if (!URL.canParse(text)) return false;
  const requested = new URL(text);
  return requested.host === origin.host && requested.pathname === '/' && !requested.username && !requested.password;
}
