// The admin page: active sessions with a live trust line, kill, decisions, profile maturity.
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('vdiguard-admin') || '';

async function call(path, method = 'GET') {
  const res = await fetch(path, { method, headers: { authorization: `Bearer ${token}` } });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error);
  return data;
}

function row(cells, head = false) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement(head ? 'th' : 'td');
    if (c instanceof Node) td.append(c);
    else td.textContent = String(c);
    tr.append(td);
  }
  return tr;
}

function line(points) {
  const canvas = document.createElement('canvas');
  canvas.width = 240;
  canvas.height = 40;
  const g = canvas.getContext('2d');
  g.strokeStyle = '#7fd18b';
  g.beginPath();
  points.slice(-240).forEach((p, i) => (i ? g.lineTo(i, 40 - p.trust * 38) : g.moveTo(i, 40 - p.trust * 38)));
  g.stroke();
  return canvas;
}

async function refresh() {
  if (!token) return;
  try {
    const { sessions } = await call('/api/admin/sessions');
    const t = $('sessions');
    t.replaceChildren(row(['agent', 'desktop', 'started', 'status', 'trust', 'trust line', ''], true));
    for (const s of sessions) {
      const kill = document.createElement('button');
      kill.textContent = 'Kill';
      kill.onclick = () => call(`/api/admin/sessions/${encodeURIComponent(s.sessionId)}/kill`, 'POST').then(refresh);
      t.append(row([s.agentId, s.desktopId, new Date(s.startedAt).toLocaleString(), `${s.status}${s.scored ? '' : ' (unscored)'}${s.connected ? '' : ' (awaiting reconnect)'}`, `${s.trust.toFixed(2)} ${s.state}`, line(s.trustLine), kill]));
    }
    const { decisions } = await call('/api/admin/decisions?limit=50');
    const d = $('decisions');
    d.replaceChildren(row(['when', 'agent', 'source', 'action', 'trust', 'reason'], true));
    for (const x of decisions) d.append(row([new Date(x.decidedAt).toLocaleString(), x.agentId, x.source, x.action, x.trust.toFixed(2), x.reason]));
    const p = $('profiles');
    p.replaceChildren(row(['agent', 'state', 'keystrokes', 'mouse actions', 'still required (keys / mouse)'], true));
    const { profiles } = await call('/api/admin/profiles').catch(() => ({ profiles: [] }));
    for (const x of profiles) p.append(row([x.agentId, x.state, x.keystrokesEnrolled, x.mouseActionsEnrolled, `${x.keystrokesRequired} / ${x.mouseActionsRequired}`]));
  } catch (err) {
    $('sessions').replaceChildren(row([err.message]));
  }
}

$('auth').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value;
  sessionStorage.setItem('vdiguard-admin', token);
  refresh();
});
setInterval(refresh, 2000);
refresh();
