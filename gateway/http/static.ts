/**
 * The pages the gateway serves: the agent's page, the admin console (its modules and stylesheet),
 * the logo (also as the favicon: browsers ask for /favicon.ico whatever the page links, and take an
 * SVG answer), and guacamole-common-js from its npm package (no CDN). Files are read once at start-up.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
}

/** gateway/page in the package (this module runs from gateway/http or dist/gateway/http). */
function pageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'gateway', 'page');
    dir = dirname(dir);
  }
  throw new Error('cannot find the gateway page folder (package root not found)');
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

export function loadStaticFiles(): Map<string, StaticFile> {
  const dir = pageDir();
  const files = new Map<string, StaticFile>();
  const add = (path: string, file: string): void => {
    const ext = file.slice(file.lastIndexOf('.') + 1);
    files.set(path, { type: TYPES[ext] ?? 'application/octet-stream', body: readFileSync(file) });
  };
  add('/', join(dir, 'index.html'));
  add('/app.js', join(dir, 'app.js'));
  add('/client-times.js', join(dir, 'client-times.js'));
  add('/style.css', join(dir, 'style.css'));
  for (const path of ['/logo.svg', '/favicon.svg', '/favicon.ico']) add(path, join(dir, 'logo.svg'));
  add('/admin', join(dir, 'admin.html'));
  for (const file of ['admin.js', 'admin-lib.js', 'admin-views.js', 'admin-manage.js', 'admin.css']) add(`/${file}`, join(dir, file));
  const guac = fileURLToPath(import.meta.resolve('guacamole-common-js')).replace(/guacamole-common\.js$/, 'guacamole-common.min.js');
  add('/guacamole-common.js', guac);
  return files;
}
