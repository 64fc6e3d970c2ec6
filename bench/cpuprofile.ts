import path from 'node:path';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) the summary reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  /** µs with this entry at the top of the stack. */
  self: number;
  /** µs with this entry anywhere on the stack (counted once per sample however often it recurses). */
  total: number;
}

export interface ProfileSummary {
  /** µs covered by the samples. */
  sampled: number;
  functions: Entry[];
  /** By component: a middleware file, another app file, an npm package, node core, or V8's own (GC, program, idle). */
  components: Entry[];
}

/**
 * Self and total time per function and per component, over the samples inside `window` (profile clock, µs) if given. A sample lasts until the next one (the last one until the
 * profile's end). Stacks are the synchronous ones V8 sees: after an `await`, a continuation runs under the microtask
 * queue, not under its caller, so an async middleware's total holds its own synchronous slices, not what it awaits.
 */
export function summarizeProfile(
  profile: CpuProfile,
  opts: { root?: string; window?: { from: number; to: number } } = {},
): ProfileSummary {
  const root = opts.root ?? process.cwd();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keys = new Map<number, { fn: string; comp: string }>();
  for (const n of profile.nodes) {
    const file = shortUrl(n.callFrame.url, root);
    keys.set(n.id, {
      fn: `${n.callFrame.functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${n.callFrame.lineNumber + 1}`}`,
      comp: component(n.callFrame.functionName, file),
    });
  }

  const fns = new Map<string, Entry>();
  const comps = new Map<string, Entry>();
  const entry = (map: Map<string, Entry>, name: string) => {
    let e = map.get(name);
    if (e === undefined) map.set(name, (e = { name, self: 0, total: 0 }));
    return e;
  };
  const stamps: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) stamps.push((t += d));
  let sampled = 0;
  for (const [i, top] of profile.samples.entries()) {
    const at = stamps[i] ?? profile.endTime;
    const duration = Math.max(0, (stamps[i + 1] ?? profile.endTime) - at);
    const topKeys = keys.get(top);
    if (topKeys === undefined) continue;
    if (opts.window !== undefined && (at < opts.window.from || at > opts.window.to)) continue;
    sampled += duration;
    entry(fns, topKeys.fn).self += duration;
    entry(comps, topKeys.comp).self += duration;
    const seenFns = new Set<string>();
    const seenComps = new Set<string>();
    for (let id: number | undefined = top; id !== undefined; id = parent.get(id)) {
      const k = keys.get(id);
      if (k === undefined || k.fn === '(root)') continue;
      const { fn: f, comp: c } = k;
      if (!seenFns.has(f)) {
        seenFns.add(f);
        entry(fns, f).total += duration;
      }
      if (!seenComps.has(c)) {
        seenComps.add(c);
        entry(comps, c).total += duration;
      }
    }
  }
  const sorted = (m: Map<string, Entry>) => [...m.values()].sort((a, b) => b.self - a.self || b.total - a.total);
  return { sampled, functions: sorted(fns), components: sorted(comps) };
}

function shortUrl(url: string, root: string): string {
  if (url === '') return '';
  const file = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  return path.isAbsolute(file) ? path.relative(root, file) : file;
}

function component(functionName: string, file: string): string {
  if (file === '') return functionName.startsWith('(') ? functionName : 'native (V8 / node built-ins)'; // (garbage collector), (program), (idle), (root)
  if (file.startsWith('node:')) return 'node core';
  const inApp = /^(dist\/)?(src|bench|activities|workflows)\//.exec(file);
  if (inApp === null) {
    // An npm package: node_modules paths were shortened to `<package>/…`.
    const [first = '', second = ''] = file.split('/');
    return `pkg ${first.startsWith('@') ? `${first}/${second}` : first}`;
  }
  const rel = file.replace(/^dist\//, '').replace(/\.(js|ts)$/, '');
  const middleware = /^src\/api\/middleware\/(.+)$/.exec(rel);
  return middleware !== null ? `middleware ${middleware[1]}` : `app ${rel}`;
}

/** The top `n` rows of a summary as a fixed-width table (ms and % of the sampled time). */
export function formatEntries(title: string, entries: Entry[], sampled: number, n: number): string {
  const ms = (us: number) => (us / 1000).toFixed(1).padStart(9);
  const pct = (us: number) => `${((100 * us) / Math.max(sampled, 1)).toFixed(1)}%`.padStart(7);
  const lines = [`${title}\n    self ms   self %   total ms  total %  name`];
  for (const e of entries.slice(0, n))
    lines.push(`${ms(e.self)}  ${pct(e.self)}  ${ms(e.total)}  ${pct(e.total)}  ${e.name}`);
  return `${lines.join('\n')}\n`;
}
