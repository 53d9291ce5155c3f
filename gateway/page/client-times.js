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
//   performance.now(), when the repeat was made.
// Times never decrease (one is raised to the last sent) and are written to 3 decimals.

/** The DOM events whose listeners in guacamole-common-js 1.5.0 (Keyboard, Mouse) send input. */
const INPUT_EVENTS = ['keydown', 'keypress', 'keyup', 'input', 'compositionend', 'mousemove', 'mousedown', 'mouseup', 'mouseout', 'wheel', 'mousewheel', 'DOMMouseScroll'];

/** The input event last seen; it counts only while it is being dispatched. */
let dispatching = null;
/** The timeStamp of the last keydown (undefined: none yet). */
let keydownAt;
/** The last time sent, in ms on the page's clock. */
let lastSent = 0;

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

/** The time of the instruction being sent now (`key` args: keysym, pressed). */
function timeOf(opcode, args) {
  const e = dispatching && dispatching.eventPhase !== Event.NONE ? dispatching : null;
  const press = opcode === 'key' && Number(args[1]) === 1;
  let t = e ? e.timeStamp : performance.now();
  if (press && e && (e.type === 'keypress' || e.type === 'keyup') && keydownAt !== undefined) t = keydownAt;
  lastSent = Math.max(lastSent, Math.round(t * 1000) / 1000);
  return lastSent;
}

/** Makes `tunnel` (a Guacamole.Tunnel) send each key and mouse instruction after its time. */
export function sendClientTimes(tunnel) {
  const send = tunnel.sendMessage;
  tunnel.sendMessage = (opcode, ...args) => {
    if (opcode === 'key' || opcode === 'mouse') send.call(tunnel, 'vdiguard', 'time', String(timeOf(opcode, args)));
    send.call(tunnel, opcode, ...args);
  };
}
