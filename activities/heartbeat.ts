import { Context } from '@temporalio/activity';
import type { Sandbox } from '../src/sandbox';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any activity signature
type AnyActivity = (...args: any[]) => Promise<unknown>;

/** The current activity's context, or undefined when called outside an activity (a unit test calling it directly). */
function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Wraps every activity so that, when its workflow gave it a heartbeat timeout, it heartbeats while it runs (an LLM
 * call waiting for the provider, a sandbox run or install, a scan): a worker that dies is noticed after the heartbeat
 * timeout rather than at start-to-close, and a cancellation from the workflow is delivered (Temporal delivers it in
 * a heartbeat's answer) to `Context.cancellationSignal`, which aborts the provider request and kills the sandbox run.
 * The heartbeat runs on a timer of this process: it stops when the worker dies or its event loop hangs.
 */
export function withHeartbeats<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: unknown[]) => {
      const ctx = currentContext();
      const timeoutMs = ctx?.info.heartbeatTimeoutMs ?? 0;
      if (ctx === undefined || timeoutMs <= 0) return fn(...args);
      // The SDK throttles what it sends to the server (at most every 80 % of the timeout); a third is frequent enough.
      const timer = setInterval(() => ctx.heartbeat(), Math.max(100, Math.floor(timeoutMs / 3)));
      ctx.heartbeat();
      try {
        return await fn(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return wrapped as T;
}

/**
 * The sandbox as activities see it: a run started inside an activity is killed (its whole process tree) when the
 * activity is cancelled, unless the caller passed its own signal.
 */
export function cancellableSandbox(sandbox: Sandbox): Sandbox {
  return {
    get isolation() {
      return sandbox.isolation;
    },
    get info() {
      return sandbox.info;
    },
    run: (req) =>
      sandbox.run(req.signal !== undefined ? req : { ...req, signal: currentContext()?.cancellationSignal }),
  };
}
