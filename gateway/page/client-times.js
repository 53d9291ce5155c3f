// Client event times (docs/client-times.md): before each `key` and `mouse` instruction the page
// sends `vdiguard,time,<ms>`, when the agent's action happened on the page's own clock, so the
// scorer can measure timings without the network's jitter (the gateway consumes it, never the
// desktop). Timings only: nothing here looks at which key it was.
//
// guacamole-common-js decides what is sent and when (its Keyboard waits for a printable key's
// keypress, releases and presses modifiers to match a key event's flags, repeats a held key on its
// own timer; its Mouse turns the wheel into button 8/16 clicks), so the time is chosen when an
// instruction is sent, from what is happening then:
// - sent while an input event is being dispatched: that event's `timeStamp`. Modifier
//   resyncs and wheel clicks get the time of the key or wheel event that caused them.
// - a key press sent while a keypress or keyup is dispatched: the time of the last keydown, the one
//   guacamole-common-js waited to interpret (a printable key, a dead key's character) or whose
//   modifier flags it matched (an implied Shift pressed with the key).
// - sent from no input event (guacamole-common-js's own key repeat, every 50 ms after 500 ms):
//   performance.now() when the task that sent it began, so a repeat's release and press, made
//   together by one timer tick, share one time however long sending the first one took.
// Times never decrease (one is raised to the last sent) and are written to 3 decimals.
//
// Before the time of a `mouse` made by a mousemove, the points of the pointer's full-rate path that
// chromium coalesced into it (the pointermove's getCoalescedEvents(), up to one per report of the
// mouse, at 125-1000 Hz, where the page sees one move per frame) go as timing-only samples, in one
// `vdiguard,samples,<ms>,<x>,<y>,...`: each point at its own timeStamp, its position mapped to the
// remote display as guacamole-common-js maps the move's. The gateway bounds them
// (gateway/tap/client-time.ts).

/** The DOM events whose listeners in guacamole-common-js 1.5.0 (Keyboard, Mouse) send input. */
const INPUT_EVENTS = ['keydown', 'keypress', 'keyup', 'input', 'compositionend', 'mousemove', 'mousedown', 'mouseup', 'mouseout', 'wheel', 'mousewheel', 'DOMMouseScroll'];

/** The most samples before one move: the gateway refuses more (MAX_SAMPLES_PER_MOVE). */
const MAX_SAMPLES = 32;

/** The input event last seen; it counts only while it is being dispatched. */
let dispatching = null;
/** The last pointermove of a mouse: chromium dispatches it just before the mousemove of the same report, with its timeStamp. */
let pointerMove = null;
/** The timeStamp of the last keydown (undefined: none yet). */
let keydownAt;
/** The last time sent, in ms on the page's clock. */
let lastSent = 0;
/** performance.now() at the first instruction sent outside an input event in this task (undefined: none yet). */
let taskNow;

// Capture on window runs before guacamole-common-js's own listeners (on document and the display).
for (const type of INPUT_EVENTS) {
  window.addEventListener(
    type,
    (e) => {
      dispatching = e;
      if (type === 'keydown') keydownAt = e.timeStamp;
    },
    { capture: true, passive: true },
  );
}

window.addEventListener(
  'pointermove',
  (e) => {
    pointerMove = e.pointerType === 'mouse' ? e : null;
  },
  { capture: true, passive: true },
);

/** The input event being dispatched now, or null. */
function current() {
  return dispatching && dispatching.eventPhase !== Event.NONE ? dispatching : null;
}

/**
 * The samples to send before the `mouse` being sent now, as the strings ms, x, y of each point one
 * after another: the points the pointermove of the mousemove being dispatched coalesced before its
 * own (the last is the move itself), each later than the last time sent, not after the move's, and
 * never decreasing; the latest MAX_SAMPLES. `toRemote(clientX, clientY)` maps a point to
 * remote-display pixels.
 */
function samplesOf(toRemote) {
  const e = current();
  const p = pointerMove;
  if (!e || e.type !== 'mousemove' || !p || p.timeStamp !== e.timeStamp || typeof p.getCoalescedEvents !== 'function') return [];
  pointerMove = null;
  const until = Math.max(lastSent, Math.round(e.timeStamp * 1000) / 1000);
  let previous = lastSent;
  const out = [];
  for (const c of p.getCoalescedEvents().slice(0, -1)) {
    const t = Math.round(c.timeStamp * 1000) / 1000;
    if (t <= lastSent || t < previous || t > until) continue;
    previous = t;
    const [x, y] = toRemote(c.clientX, c.clientY);
    out.push(String(t), String(x), String(y));
  }
  return out.slice(-3 * MAX_SAMPLES);
}

/** The time of the current task, for instructions sent outside an input event: one reading per task. */
function now() {
  if (taskNow === undefined) {
    taskNow = performance.now();
    queueMicrotask(() => {
      taskNow = undefined;
    });
  }
  return taskNow;
}

/** The time of the instruction being sent now (`key` args: keysym, pressed). */
function timeOf(opcode, args) {
  const e = current();
  const press = opcode === 'key' && Number(args[1]) === 1;
  let t = e ? e.timeStamp : now();
  if (press && e && (e.type === 'keypress' || e.type === 'keyup') && keydownAt !== undefined) t = keydownAt;
  lastSent = Math.max(lastSent, Math.round(t * 1000) / 1000);
  return lastSent;
}

/**
 * Makes `tunnel` (a Guacamole.Tunnel) send each key and mouse instruction after its time, and a
 * move after its samples; `toRemote(clientX, clientY)` gives [x, y] on the remote display.
 */
export function sendClientTimes(tunnel, toRemote) {
  const send = tunnel.sendMessage;
  tunnel.sendMessage = (opcode, ...args) => {
    const samples = opcode === 'mouse' ? samplesOf(toRemote) : [];
    if (samples.length > 0) send.call(tunnel, 'vdiguard', 'samples', ...samples);
    if (opcode === 'key' || opcode === 'mouse') send.call(tunnel, 'vdiguard', 'time', String(timeOf(opcode, args)));
    send.call(tunnel, opcode, ...args);
  };
}
