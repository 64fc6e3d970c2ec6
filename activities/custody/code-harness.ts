/**
 * The two programs a code item's grading runs in the sandbox. Neither ever holds an expected value: the worker keeps
 * those and compares. `harness.js` reads the run's marker and the cases' arguments from stdin before anything of the
 * answer exists, then runs the answer in a child process (`runner.js`) that gets neither the marker nor stdin nor the
 * harness's stdout: it talks to the harness only over the IPC channel, one case at a time. The harness prints each
 * returned value (`v8.serialize`, base64: undefined, NaN, -0, BigInt, Map, Set, Date, RegExp, typed arrays survive) on
 * a line that starts with the marker, then `done`; or one `fault` line when the answer's process misbehaves, or
 * `broken` when it could not even be started (before any of the answer ran: the worker's trouble, not the answer's).
 */

/** One marked line of `harness.js`, as JSON after the marker and a space. */
export type HarnessRecord =
  | { i: number; ok: boolean; value?: string; error?: string }
  | { done: number }
  | { fault: string }
  | { broken: string };

const HARNESS = `'use strict';
const { fork } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { marker, inputs } = JSON.parse(readFileSync(0, 'utf8'));
const emit = (record) => process.stdout.write(marker + ' ' + JSON.stringify(record) + '\\n');
const child = fork(require.resolve('./runner.js'), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
child.stdout.pipe(process.stderr);
child.stderr.pipe(process.stderr);
let next = -1;
let finished = false;
const stop = (record) => {
  if (finished) return;
  finished = true;
  emit(record);
  child.kill('SIGKILL');
  // stdout to a pipe or socket is written synchronously on Linux; leave without waiting for what the answer started.
  process.exit(0);
};
const ask = () => {
  next += 1;
  if (next === inputs.length) stop({ done: inputs.length });
  else child.send({ i: next, args: inputs[next] });
};
const isReply = (m) => m !== null && typeof m === 'object' && m.i === next &&
  ((m.ok === true && typeof m.value === 'string') || (m.ok === false && typeof m.error === 'string'));
child.on('message', (m) => {
  if (finished) return;
  if (next === -1 && m && m.load === 'ok') return ask();
  if (next === -1 && m && m.load === 'error' && typeof m.error === 'string') return stop({ fault: 'the answer did not load: ' + m.error });
  if (next >= 0 && isReply(m)) {
    emit({ i: m.i, ok: m.ok, value: m.value, error: m.error });
    return ask();
  }
  stop({ fault: "the answer's process sent an unexpected message to the harness" });
});
child.on('exit', (code, signal) => stop({
  fault: "the answer's process ended (" + (signal || 'exit ' + code) + ') before ' + (next < 0 ? 'it loaded' : 'case ' + (next + 1) + ' returned'),
}));
child.on('error', (e) => stop(child.pid === undefined ? { broken: e.message } : { fault: "the answer's process failed: " + e.message }));
`;

const RUNNER = `'use strict';
const { serialize } = require('node:v8');
const send = process.send.bind(process);
const on = process.on.bind(process);
const describe = (e) => {
  try { return String((e && e.message) || e).slice(0, 500); } catch { return 'an error that cannot be printed'; }
};
let fn;
let loadError = 'the answer does not define the requested function';
try {
  fn = require('./solution.js').__lvlupFn;
} catch (e) {
  loadError = describe(e);
}
if (typeof fn !== 'function') {
  send({ load: 'error', error: loadError });
} else {
  on('message', async (m) => {
    let reply;
    try {
      const actual = await fn(...m.args);
      try {
        reply = { i: m.i, ok: true, value: serialize(actual).toString('base64') };
      } catch (e) {
        reply = { i: m.i, ok: false, error: 'the returned value cannot be compared: ' + describe(e) };
      }
    } catch (e) {
      reply = { i: m.i, ok: false, error: describe(e) };
    }
    send(reply);
  });
  send({ load: 'ok' });
}
`;

/** The files of one grading run besides `solution.js`, by name. */
export const HARNESS_FILES: Readonly<Record<string, string>> = Object.freeze({
  'harness.js': HARNESS,
  'runner.js': RUNNER,
});

/** The wrapper around the answer that exposes the requested function to `runner.js`. */
export function solutionSource(code: string, functionName: string): string {
  return `${code}\n;module.exports.__lvlupFn = typeof ${functionName} === 'function' ? ${functionName} : (module.exports && module.exports.${functionName});\n`;
}
