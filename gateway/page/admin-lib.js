// The admin console's parts: the API client, DOM helpers, locale-aware times and the trust charts.

/** The admin token for automation users, kept for this tab only; named admins use the HttpOnly cookie. */
export const TOKEN_KEY = 'vdiguard-admin';

/** An API error: the gateway's message, its code, and the field it is about (validation). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body.error || `the gateway answered ${status}`);
    this.status = status;
    this.code = body.code;
    this.field = body.field;
  }
}

export async function call(path, method = 'GET', body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const data = await res.json().catch(() => ({ error: `the gateway answered ${res.status} without JSON` }));
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const enc = encodeURIComponent;

/** An element: h('td.mono', {title}, child, ...). Strings become text, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false || v === null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function button(text, onclick, cls = '') {
  return h(`button${cls ? '.' + cls : ''}`, { type: 'button', onclick }, text);
}

export function table(head, rows, empty) {
  const body = rows.length ? rows : [h('tr', {}, h('td.muted', { colspan: head.length }, empty))];
  return h('table', {}, h('thead', {}, h('tr', {}, head.map((x) => h('th', {}, x)))), h('tbody', {}, body));
}

export function badge(text, kind = '') {
  return h(`span.badge${kind ? '.' + kind : ''}`, {}, text);
}

// Times in the browser's locale, 24-hour, with the ISO value on hover; never a US-only format.
const DATE_TIME = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function relative(date, now = Date.now()) {
  const s = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return RELATIVE.format(s, 'second');
  if (abs < 3600) return RELATIVE.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return RELATIVE.format(Math.round(s / 3600), 'hour');
  return RELATIVE.format(Math.round(s / 86400), 'day');
}

/** A time cell: locale date and time, and how long ago. */
export function when(iso) {
  if (!iso) return h('span.muted', {}, '-');
  const d = new Date(iso);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, DATE_TIME.format(d), h('span.muted.rel', {}, ` ${relative(d)}`));
}

export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return hms[0] ? `${hms[0]} h ${hms[1]} min` : hms[1] ? `${hms[1]} min ${hms[2]} s` : `${hms[2]} s`;
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** A row's small trust line; says so when there is nothing to draw, so the box is never blank. */
export function trustSpark(points, emptyText = 'no scores yet') {
  const w = 160;
  const hgt = 34;
  const canvas = h('canvas.spark', { width: w, height: hgt, role: 'img', 'aria-label': points.length ? `trust ${points.at(-1).trust.toFixed(2)}` : emptyText });
  const g = canvas.getContext('2d');
  g.fillStyle = css('--bg');
  g.fillRect(0, 0, w, hgt);
  if (points.length === 0) {
    g.fillStyle = css('--muted');
    g.font = `12px ${css('--font')}`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(emptyText, w / 2, hgt / 2);
    return canvas;
  }
  const shown = points.slice(-w);
  const y = (t) => hgt - 2 - t * (hgt - 4);
  g.strokeStyle = css('--border');
  g.beginPath();
  g.moveTo(0, y(0.5));
  g.lineTo(w, y(0.5));
  g.stroke();
  const last = shown.at(-1).trust;
  g.strokeStyle = last <= 0.5 ? css('--danger') : css('--ok');
  g.lineWidth = 1.5;
  g.beginPath();
  const step = shown.length > 1 ? w / (shown.length - 1) : 0;
  shown.forEach((p, i) => (i ? g.lineTo(i * step, y(p.trust)) : g.moveTo(0, y(p.trust))));
  if (shown.length === 1) g.lineTo(w, y(last));
  g.stroke();
  return canvas;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** `part` of `whole` as a whole percentage that reads 100% or 0% only when it is exactly that. */
function share(part, whole) {
  if (part === whole) return '100%';
  if (part === 0) return '0%';
  return `${Math.min(99, Math.max(1, Math.round((100 * part) / whole)))}%`;
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/**
 * Which times the scorer measured a session's events on (the report of scorer/timing/client-times.ts),
 * in words: the share on the browser's own times, the inconsistent stretches and the envelope; a
 * client that sends no event times is said to be measured on arrival. Null when there is nothing to say.
 */
export function eventTimesText(t) {
  // Records from before the test for rewritten times have no count of them.
  const distrusted = t.distrusted ?? 0;
  const inconsistent = t.backwards + t.future + t.outsideEnvelope + distrusted;
  const total = t.client + t.missing + inconsistent;
  if (total === 0) return null;
  if (t.client + inconsistent === 0) return { summary: 'arrival times (this client sends no event times)', detail: '' };
  const onArrival = [
    [distrusted, "after the browser's times were found rewritten"],
    [t.backwards, 'earlier than the one before'],
    [t.future, 'later than their arrival'],
    [t.outsideEnvelope, 'outside the envelope'],
    [t.missing, 'without a time'],
  ].filter(([n]) => n > 0);
  const rewritten = distrusted > 0 ? '; times found rewritten' : '';
  return {
    summary: `${share(t.client, total)} from the browser, ${plural(t.inconsistentStretches, 'inconsistent stretch', 'inconsistent stretches')} (envelope ${Math.round(t.envelopeMs)} ms)${rewritten}`,
    detail: onArrival.length ? `measured on arrival: ${onArrival.map(([n, what]) => `${n} ${what}`).join(', ')}` : '',
  };
}

/** The points of a trust line where the count of inconsistent stretches rose: one began by then. */
export function stretchStarts(points) {
  let seen = 0;
  const starts = [];
  for (const p of points) {
    if (p.inconsistentStretches === null || p.inconsistentStretches === undefined) continue;
    if (p.inconsistentStretches > seen) starts.push({ ...p, began: p.inconsistentStretches - seen });
    seen = Math.max(seen, p.inconsistentStretches);
  }
  return starts;
}

/**
 * A session's trust curve over time, with the challenge and terminate lines, a marker per
 * decision (their colour by action) and a mark on the top edge where inconsistent client event
 * times began; "no scores yet" when there are no points.
 */
export function trustCurve(points, decisions, thresholds, range) {
  const W = 900;
  const H = 260;
  const m = { l: 44, r: 16, t: 14, b: 30 };
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'curve', role: 'img', 'aria-label': 'trust over time' });
  const times = [...points.map((p) => p.t), ...decisions.map((d) => Date.parse(d.decidedAt)), range.from, range.to].filter(Number.isFinite);
  const t0 = Math.min(...times);
  const t1 = Math.max(t0 + 1000, ...times);
  const x = (t) => m.l + ((t - t0) / (t1 - t0)) * (W - m.l - m.r);
  const y = (v) => m.t + (1 - v) * (H - m.t - m.b);
  svg.append(s('rect', { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, class: 'plot' }));
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: m.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, v.toFixed(2)));
  }
  const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    svg.append(s('text', { x: x(t), y: H - 8, class: 'axis', 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, clock.format(new Date(t))));
  }
  svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y(thresholds.challenge), y2: y(thresholds.challenge), class: 'threshold challenge' }));
  svg.append(s('text', { x: W - m.r - 4, y: y(thresholds.challenge) - 5, class: 'label challenge', 'text-anchor': 'end' }, `challenge at ${thresholds.challenge}`));
  svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y(thresholds.terminate), y2: y(thresholds.terminate), class: 'threshold terminate' }));
  svg.append(s('text', { x: W - m.r - 4, y: y(thresholds.terminate) - 5, class: 'label terminate', 'text-anchor': 'end' }, `terminate at ${thresholds.terminate}`));
  if (points.length === 0) {
    svg.append(s('text', { x: (m.l + W - m.r) / 2, y: H / 2, class: 'empty', 'text-anchor': 'middle' }, 'no scores yet'));
  } else {
    const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.trust).toFixed(1)}`).join(' ');
    svg.append(s('path', { d: points.length === 1 ? `${path} L${x(t1)},${y(points[0].trust)}` : path, class: 'trust' }));
  }
  for (const p of stretchStarts(points)) {
    const at = x(p.t);
    const mark = s('g', { class: 'stretch' });
    mark.append(s('line', { x1: at, x2: at, y1: m.t, y2: y(p.trust) }));
    mark.append(s('path', { d: `M${(at - 5).toFixed(1)},${m.t} L${(at + 5).toFixed(1)},${m.t} L${at.toFixed(1)},${m.t + 8} Z` }));
    mark.append(s('title', {}, `impossible event times: ${plural(p.began, 'stretch', 'stretches')} began by here (${p.inconsistentStretches} in the session)`));
    svg.append(mark);
  }
  for (const d of decisions) {
    const dot = s('circle', { cx: x(Date.parse(d.decidedAt)), cy: y(d.trust), r: 5, class: `decision ${actionKind(d.action)}` });
    dot.append(s('title', {}, `${d.action}: ${d.reason}`));
    svg.append(dot);
  }
  return svg;
}

/** How serious an action is, for its colour: danger ends or locks, warn asks, ok restores. */
export function actionKind(action) {
  if (/terminate|kill|fail|lock|locked|error|ended/.test(action)) return 'danger';
  if (/challenge$|monitor|overflow|fail-open|probation/.test(action)) return 'warn';
  return 'ok';
}

/**
 * A progress bar of enrolled behaviour against what maturity needs. `enrolling`: the count is
 * reached but the scorer has not fitted a template from it yet (it needs more windows).
 */
export function progress(done, required, label, enrolling = false) {
  const total = required === null ? null : done + required;
  const ratio = total ? Math.min(1, done / total) : required === 0 ? 1 : 0;
  const text = total === null ? `${done} enrolled` : `${done} / ${total}${enrolling && required === 0 && done > 0 ? ', needs more windows' : ''}`;
  return h(
    'div.progress',
    { role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': total ?? 0, 'aria-valuenow': done },
    h('div.bar', {}, h('div.fill', { style: `width: ${(ratio * 100).toFixed(1)}%` })),
    h('span.muted', {}, text),
  );
}

/**
 * Runs a form's action; a validation error appears next to its field (the API names it), any other
 * error in the form's message line. Returns the action's result, or undefined after an error.
 */
export async function submitting(form, action) {
  for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
  const message = form.querySelector('.message');
  if (message) message.textContent = '';
  try {
    return await action();
  } catch (err) {
    const slot = err.field && form.querySelector(`.field-error[data-for="${CSS.escape(err.field)}"]`);
    if (slot) slot.textContent = err.message;
    else if (message) message.textContent = err.message;
    else throw err;
    return undefined;
  }
}

/** A labelled input with its error slot. */
export function field(label, name, attrs = {}) {
  const input = attrs.options
    ? h('select', { name, id: `f-${name}` }, attrs.options.map((o) => h('option', { value: o, selected: o === attrs.value }, o)))
    : h('input', { name, id: `f-${name}`, ...attrs });
  return h('label', { for: `f-${name}` }, label, input, h('span.field-error', { dataset: { for: name } }));
}

/** A modal dialog with `content`; resolves when it closes. */
export function dialog(title, ...content) {
  const d = h('dialog.modal', {}, h('h2', {}, title), ...content);
  document.body.append(d);
  d.showModal();
  return new Promise((resolve) =>
    d.addEventListener('close', () => {
      d.remove();
      resolve(d.returnValue);
    }),
  );
}

/** Asks before a change that cannot be undone. */
export async function confirmed(title, text, verb) {
  const form = h('form', { method: 'dialog' }, h('p', {}, text), h('div.actions', {}, h('button', { value: 'cancel' }, 'Cancel'), h('button.danger', { value: 'yes', id: 'confirm-yes' }, verb)));
  return (await dialog(title, form)) === 'yes';
}

/** The TOTP enrolment shown once: the QR code, the secret and the otpauth URI. */
export function totpDialog(title, who, totp) {
  const qr = h('img.qr', { alt: `authenticator QR code for ${who}`, src: `data:image/svg+xml;base64,${btoa(totp.qrSvg)}` });
  return dialog(
    title,
    h('p', {}, `Scan this with ${who}'s authenticator app now: it is shown only once and cannot be retrieved again.`),
    qr,
    h('p', {}, 'Secret: ', h('code.secret', {}, totp.secret)),
    h('details', {}, h('summary', {}, 'otpauth URI'), h('code.uri', {}, totp.uri)),
    h('form', { method: 'dialog' }, h('div.actions', {}, h('button.primary', { value: 'done' }, 'Done'))),
  );
}
