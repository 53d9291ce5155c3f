// The console's read views: sessions, one session's page, decisions, profile maturity, the admin audit trail.
import { actionKind, badge, button, call, confirmed, duration, enc, eventTimesText, field, h, progress, stretchStarts, submitting, table, trustCurve, trustSpark, when } from './admin-lib.js';

const PHASE_KIND = { active: 'ok', challenged: 'warn', disconnected: 'warn', ended: '' };

/** A session's state badge; a dropped connection says when the session ends unless its agent returns. */
function phaseBadge(s) {
  if (s.phase === 'disconnected' && s.reconnectEndsAt) {
    const left = Math.max(0, Math.round((Date.parse(s.reconnectEndsAt) - Date.now()) / 1000));
    return badge(`disconnected, ends in ${left} s`, 'warn');
  }
  return badge(s.phase, PHASE_KIND[s.phase]);
}

const trustText = (s) => (s.trust === null ? h('span.muted', {}, 'not scored') : h('span', {}, s.trust.toFixed(2), s.trustState ? h('span.muted', {}, ` ${s.trustState}`) : ''));

function killButton(ctx, s, after) {
  if (!ctx.canManage || s.phase === 'ended') return '';
  return button('Kill', async (e) => {
    e.stopPropagation();
    if (!(await confirmed('Kill session', `End ${s.agentId}'s session on ${s.desktopId} now? The agent sees that the session was ended.`, 'Kill'))) return;
    await call(`/api/admin/sessions/${enc(s.sessionId)}/kill`, 'POST', {});
    after();
  }, 'danger kill');
}

export async function sessionsView(ctx, root) {
  const state = ctx.params.get('state') || 'live';
  const agent = ctx.params.get('agent') || '';
  const filters = h(
    'form.filters',
    { onsubmit: (e) => (e.preventDefault(), ctx.go('sessions', new FormData(e.target))) },
    h('label', {}, 'Show', h('select', { name: 'state', onchange: (e) => e.target.form.requestSubmit() }, ['live', 'ended', 'all'].map((v) => h('option', { value: v, selected: v === state }, v)))),
    h('label', {}, 'Agent', h('input', { name: 'agent', value: agent, placeholder: 'any agent' })),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const { sessions } = await call(`/api/admin/sessions?state=${enc(state)}&agent=${enc(agent)}`);
  const now = Date.now();
  const rows = sessions.map((s) =>
    h(
      'tr.link',
      { dataset: { session: s.sessionId }, onclick: () => ctx.go(`session/${enc(s.sessionId)}`) },
      h('td', {}, s.phase === 'ended' ? trustSpark([], s.trust === null ? 'never scored' : `ended at ${s.trust.toFixed(2)}`) : trustSpark(s.trustLine)),
      h('td', {}, h('strong', {}, s.agentId)),
      h('td', {}, s.desktopId),
      h('td.mono', {}, s.address),
      h('td', {}, when(s.startedAt)),
      h('td', {}, duration((s.endedAt ? Date.parse(s.endedAt) : now) - Date.parse(s.startedAt))),
      h('td', {}, phaseBadge(s)),
      h('td', {}, trustText(s)),
      h('td', {}, killButton(ctx, s, ctx.refresh)),
    ),
  );
  root.replaceChildren(
    h('div.section-head', {}, h('h1', {}, 'Sessions'), filters),
    h('div.panel.wide', {}, table(['trust line', 'agent', 'desktop', 'address', 'started', 'duration', 'state', 'trust', ''], rows, state === 'live' ? 'No live sessions.' : 'No sessions.')),
  );
}

/** A session's event times as a fact of its page; nothing while the scorer has said nothing. */
function eventTimesFact(s) {
  const text = s.timing && eventTimesText(s.timing);
  if (!text) return [];
  const label = s.phase === 'ended' ? 'Event times, at the last decision' : 'Event times';
  return [[label, h('span.event-times', {}, text.summary, text.detail ? h('span.muted', {}, ` (${text.detail})`) : ''), 'prose']];
}

export async function sessionView(ctx, root, sessionId) {
  const { session: s, trustLine, decisions, thresholds } = await call(`/api/admin/sessions/${enc(sessionId)}`);
  const end = s.endedAt ? Date.parse(s.endedAt) : Date.now();
  const timeline = [...decisions].reverse().map((d) => {
    const times = d.timing && eventTimesText(d.timing);
    return h(
      'li',
      { class: `event ${actionKind(d.action)}` },
      h('div.when', {}, when(d.decidedAt)),
      h('div', {}, badge(d.action, actionKind(d.action)), ' ', h('span.muted', {}, `${d.source}, trust ${d.trust.toFixed(2)}`)),
      h('div.reason', {}, d.reason),
      times ? h('div.muted.timing', {}, `event times: ${times.summary}`) : '',
    );
  });
  const stretches = stretchStarts(trustLine).length > 0;
  root.replaceChildren(
    h('div.section-head', {}, h('h1', {}, h('a', { href: '#/sessions' }, 'Sessions'), ` / ${s.agentId} on ${s.desktopId}`), killButton(ctx, s, ctx.refresh)),
    h(
      'div.facts.panel.wide',
      {},
      h('dl', {}, [
        ['State', phaseBadge(s)],
        ['Trust', trustText(s)],
        ['Lowest trust', s.minTrust === null ? '-' : s.minTrust.toFixed(2)],
        ['Started', when(s.startedAt)],
        ['Duration', duration(end - Date.parse(s.startedAt))],
        ['Address', h('span.mono', {}, s.address)],
        ['Session', h('span.mono', {}, s.sessionId)],
        ...eventTimesFact(s),
        ...(s.endReason ? [['Ended because', s.endReason]] : []),
      ].map(([k, v, cls]) => h('div', { class: cls }, h('dt', {}, k), h('dd', {}, v)))),
    ),
    h(
      'div.panel.wide',
      {},
      h('h2', {}, 'Trust'),
      trustCurve(trustLine, decisions, thresholds, { from: Date.parse(s.startedAt), to: end }),
      stretches ? h('p.muted.legend', {}, h('span.stretch-key', { 'aria-hidden': 'true' }, '▼'), ' where a stretch of impossible event times began: the browser claimed times earlier than the one before or later than their arrival, or times whose lag behind arrival followed the intervals it claimed (rewritten), which no honest page does; the scorer measured those events on arrival and counted it against the session.') : '',
      s.phase === 'ended' ? h('p.muted', {}, 'An ended session keeps the trust at each decision and where it ended.') : '',
    ),
    h('div.panel.wide', {}, h('h2', {}, 'Decisions'), timeline.length ? h('ol.timeline', {}, timeline) : h('p.muted', {}, 'No decisions in this session.')),
  );
}

const ACTIONS = ['challenge', 'challenge-passed', 'challenge-failed', 'terminate', 'admin-kill', 'probation', 'agent-locked', 'identity-confirmed', 'fail-closed', 'fail-open', 'monitor-challenge', 'monitor-terminate', 'mirror-overflow', 'protocol-error', 'desktop-error', 'login-ended'];

/** `2025-03-01 08:00` (ISO-8601 order, the browser's time zone) as the API's ISO time with a zone; '' stays ''. */
function isoFromLocalText(text, name) {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2})?)$/.exec(text.trim());
  const d = m ? new Date(`${m[1]}T${m[2]}`) : undefined;
  if (text.trim() === '') return '';
  if (!d || Number.isNaN(d.getTime())) throw Object.assign(new Error('write the time as 2025-03-01 08:00 (your time zone)'), { field: name });
  return d.toISOString();
}

/** An ISO time from the URL as the filter field shows it: local, ISO order, 24-hour. */
function localText(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export async function decisionsView(ctx, root) {
  const p = ctx.params;
  const filters = h(
    'form.filters',
    {
      onsubmit: (e) => {
        e.preventDefault();
        submitting(e.target, async () => {
          const f = new FormData(e.target);
          f.set('since', isoFromLocalText(f.get('since'), 'since'));
          f.set('until', isoFromLocalText(f.get('until'), 'until'));
          ctx.go('decisions', f);
        });
      },
    },
    h('label', {}, 'Agent', h('input', { name: 'agent', value: p.get('agent') || '', placeholder: 'any agent' })),
    h('label', {}, 'Action', h('select', { name: 'action' }, h('option', { value: '' }, 'any action'), ACTIONS.map((a) => h('option', { value: a, selected: a === p.get('action') }, a)))),
    field('From', 'since', { value: localText(p.get('since')), placeholder: '2025-03-01 08:00' }),
    field('To', 'until', { value: localText(p.get('until')), placeholder: '2025-03-01 18:00' }),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const q = new URLSearchParams({ limit: '200' });
  for (const k of ['agent', 'action', 'since', 'until']) if (p.get(k)) q.set(k, p.get(k));
  const { decisions } = await call(`/api/admin/decisions?${q}`);
  const rows = decisions.map((d) =>
    h(
      'tr',
      {},
      h('td', {}, when(d.decidedAt)),
      h('td', {}, d.agentId),
      h('td', {}, h('a.mono', { href: `#/session/${enc(d.sessionId)}` }, d.sessionId.slice(0, 8))),
      h('td', {}, d.source),
      h('td', {}, badge(d.action, actionKind(d.action))),
      h('td', {}, d.trust.toFixed(2)),
      h('td.reason', {}, d.reason),
    ),
  );
  root.replaceChildren(h('div.section-head', {}, h('h1', {}, 'Decisions'), filters), h('div.panel.wide', {}, table(['when', 'agent', 'session', 'source', 'action', 'trust', 'reason'], rows, 'No decisions match.')));
}

export async function profilesView(ctx, root) {
  const { profiles } = await call('/api/admin/profiles');
  const STATE = { none: ['nothing enrolled yet', ''], enrolling: ['enrolling', 'warn'], mature: ['mature', 'ok'] };
  const rows = profiles.map((p) =>
    h(
      'tr',
      { dataset: { agent: p.agentId } },
      h('td', {}, h('strong', {}, p.agentId), p.displayName ? h('div.muted', {}, p.displayName) : ''),
      h('td', {}, badge(...STATE[p.state])),
      h('td', {}, progress(p.keystrokesEnrolled, p.keystrokesRequired, `${p.agentId} keystrokes`, p.state === 'enrolling')),
      h('td', {}, progress(p.mouseActionsEnrolled, p.mouseActionsRequired, `${p.agentId} mouse actions`, p.state === 'enrolling')),
      h('td', {}, when(p.updatedAt)),
      h('td.muted', {}, p.liveSession ? 'in a session now: its behaviour is added when it ends' : ''),
    ),
  );
  root.replaceChildren(
    h('div.section-head', {}, h('h1', {}, 'Profiles')),
    h(
      'div.panel.wide',
      {},
      h('p.muted', {}, 'A profile matures when either keystrokes or mouse actions reach what is required; until then sessions are scored for information only. A session adds its behaviour when it ends.'),
      table(['agent', 'state', 'keystrokes', 'mouse actions', 'updated', ''], rows, 'No agents yet.'),
    ),
  );
}

export async function auditView(ctx, root) {
  const { actions } = await call('/api/admin/actions?limit=200');
  const rows = actions.map((a) =>
    h(
      'tr',
      {},
      h('td', {}, when(a.at)),
      h('td', {}, a.actor, ' ', badge(a.actorKind)),
      h('td', {}, badge(a.action, actionKind(a.action))),
      h('td', {}, a.target),
      h('td.mono.detail', {}, Object.keys(a.detail).length ? JSON.stringify(a.detail) : ''),
    ),
  );
  root.replaceChildren(h('div.section-head', {}, h('h1', {}, 'Audit')), h('div.panel.wide', {}, h('p.muted', {}, 'Every change made through the API, the CLI or this console, and who made it.'), table(['when', 'who', 'action', 'target', 'detail'], rows, 'No admin actions yet.')));
}
