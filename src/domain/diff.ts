/**
 * Unified diffs as the agents write them (ARCHITECTURE §3.6): parsing with exact hunk accounting, path rules, the size
 * limit and the canonical form used for duplicate detection. Pure: imported from workflow code.
 */

export interface DiffFile {
  /** null for /dev/null (an added file). */
  oldPath: string | null;
  /** null for /dev/null (a deleted file). */
  newPath: string | null;
  status: 'modified' | 'added' | 'deleted' | 'renamed';
  added: number;
  removed: number;
  binary: boolean;
  /** The mode the diff gives the file (`new file mode` / `new mode`), e.g. '100644', '120000' for a symlink. */
  newMode: string | null;
}

export interface ParsedDiff {
  files: DiffFile[];
  added: number;
  removed: number;
  /** added + removed */
  changedLines: number;
  /** Whether the paths carried git's a/ b/ prefixes (stripped here; `git apply -p1`) or none (`-p0`). */
  pathPrefix: 'ab' | 'none' | 'mixed';
}

/** The text is not a unified diff git could apply; the message says where and why. */
export class DiffParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiffParseError';
  }
}

const HUNK_HEADER = /^@@ -(\d{1,9})(?:,(\d{1,9}))? \+(\d{1,9})(?:,(\d{1,9}))? @@(.*)$/;
const TIMESTAMP =
  /\s+(?:\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?: ?[+-]\d{4}|Z)?|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}(?: [+-]\d{4})?)$/;
const GIT_METADATA =
  /^(?:diff --git |index [0-9a-f]+\.\.[0-9a-f]+|old mode |new mode |new file mode |deleted file mode |similarity index |dissimilarity index )/;
const ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '"': '"',
  '\\': '\\',
};

interface PathRef {
  path: string | null;
  prefixed: boolean;
}

interface Draft {
  line: number;
  git: boolean;
  header: { old: PathRef; new: PathRef } | null;
  minus: PathRef | null;
  plus: PathRef | null;
  renameFrom: string | null;
  renameTo: string | null;
  copyFrom: string | null;
  copyTo: string | null;
  newFile: boolean;
  deleted: boolean;
  modeChange: boolean;
  newMode: string | null;
  binary: boolean;
  hunks: number;
  added: number;
  removed: number;
}

/**
 * Parses a `git diff` style or plain unified diff, checking every hunk's line counts against its body. Text around
 * the files (a model's preamble) is ignored, as git does. Throws DiffParseError for no files, a hunk outside a file,
 * a malformed hunk header, a count mismatch (naming the file and hunk number) or a file without changes.
 */
export function parseUnifiedDiff(text: string): ParsedDiff {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  const drafts: Draft[] = [];
  let current: Draft | null = null;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const next = lines[i + 1] ?? '';
    if (line.startsWith('diff --git ')) {
      current = newDraft(drafts, i, true);
      current.header = gitHeaderNames(line.slice('diff --git '.length), i);
    } else if (line.startsWith('--- ') && next.startsWith('+++ ')) {
      if (current === null || !current.git || current.minus !== null || current.binary)
        current = newDraft(drafts, i, false);
      current.minus = parsePathField(line.slice(4), i);
      current.plus = parsePathField(next.slice(4), i + 1);
      i += 1;
    } else if (line.startsWith('@@')) {
      if (current === null || current.minus === null)
        throw new DiffParseError(
          `line ${i + 1}: hunk header "${clip(line)}" is not inside a file (no "--- " / "+++ " lines before it)`,
        );
      i = readHunk(lines, i, current);
      continue;
    } else if (line.startsWith('Binary files ') && line.endsWith(' differ')) {
      if (current === null || !current.git || current.minus !== null) current = newDraft(drafts, i, false);
      current.binary = true;
      const names = /^Binary files (.+) and (.+) differ$/.exec(line);
      if (names && current.header === null) current.minus = parsePathField(names[1] ?? '', i);
      if (names && current.header === null) current.plus = parsePathField(names[2] ?? '', i);
    } else if (current !== null && current.git && current.minus === null && current.hunks === 0) {
      i = readGitExtendedHeader(lines, i, current);
    }
    i += 1;
  }
  const files = drafts.map(finishFile);
  if (files.length === 0)
    throw new DiffParseError(
      'no file changes found: expected "--- a/<path>" and "+++ b/<path>" lines followed by "@@ -l,s +l,s @@" hunks',
    );
  const added = files.reduce((n, f) => n + f.added, 0);
  const removed = files.reduce((n, f) => n + f.removed, 0);
  return { files, added, removed, changedLines: added + removed, pathPrefix: prefixStyle(drafts) };
}

function newDraft(drafts: Draft[], line: number, git: boolean): Draft {
  const draft: Draft = {
    line,
    git,
    header: null,
    minus: null,
    plus: null,
    renameFrom: null,
    renameTo: null,
    copyFrom: null,
    copyTo: null,
    newFile: false,
    deleted: false,
    modeChange: false,
    newMode: null,
    binary: false,
    hunks: 0,
    added: 0,
    removed: 0,
  };
  drafts.push(draft);
  return draft;
}

/** Reads one line of a git file header (modes, renames, binary markers); unknown lines are ignored like git does. */
function readGitExtendedHeader(lines: string[], i: number, draft: Draft): number {
  const line = lines[i] ?? '';
  const value = (prefix: string): string => unquoteIfQuoted(line.slice(prefix.length), i);
  if (line.startsWith('new file mode ')) [draft.newFile, draft.newMode] = [true, line.slice(14).trim()];
  else if (line.startsWith('deleted file mode ')) draft.deleted = true;
  else if (line.startsWith('new mode ')) [draft.modeChange, draft.newMode] = [true, line.slice(9).trim()];
  else if (line.startsWith('rename from ')) draft.renameFrom = value('rename from ');
  else if (line.startsWith('rename to ')) draft.renameTo = value('rename to ');
  else if (line.startsWith('copy from ')) draft.copyFrom = value('copy from ');
  else if (line.startsWith('copy to ')) draft.copyTo = value('copy to ');
  else if (line === 'GIT binary patch') {
    draft.binary = true;
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').startsWith('diff --git ')) j += 1;
    return j - 1;
  }
  return i;
}

/** Consumes one hunk whose header is at `start`; returns the index of the first line after it. */
function readHunk(lines: string[], start: number, draft: Draft): number {
  const header = lines[start] ?? '';
  draft.hunks += 1;
  const where = `${fileLabel(draft)}, hunk ${draft.hunks} (line ${start + 1})`;
  const m = HUNK_HEADER.exec(header);
  if (!m)
    throw new DiffParseError(
      `${where}: malformed hunk header "${clip(header)}" (expected "@@ -start,count +start,count @@")`,
    );
  const oldCount = m[2] === undefined ? 1 : Number(m[2]);
  const newCount = m[4] === undefined ? 1 : Number(m[4]);
  if (oldCount === 0 && newCount === 0) throw new DiffParseError(`${where}: empty hunk "${clip(header)}"`);
  let [oldSeen, newSeen, plus, minus] = [0, 0, 0, 0];
  let i = start + 1;
  for (; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const full = oldSeen >= oldCount && newSeen >= newCount;
    if (line.startsWith('\\')) continue;
    if (isHunkBoundary(lines, i, full) || (full && line === '')) break;
    const kind = line === '' ? ' ' : line[0];
    if (kind === ' ') [oldSeen, newSeen] = [oldSeen + 1, newSeen + 1];
    else if (kind === '-') [oldSeen, minus] = [oldSeen + 1, minus + 1];
    else if (kind === '+') [newSeen, plus] = [newSeen + 1, plus + 1];
    else break;
  }
  if (oldSeen !== oldCount || newSeen !== newCount) {
    throw new DiffParseError(
      `${where}: the header "${clip(header)}" promises ${oldCount} old and ${newCount} new lines but the body has ${oldSeen} old ` +
        `(context + removed) and ${newSeen} new (context + added) lines`,
    );
  }
  draft.added += plus;
  draft.removed += minus;
  return i;
}

/** A line that ends a hunk: the next hunk or file, or (once the counts are met) a format-patch signature. */
function isHunkBoundary(lines: string[], i: number, full: boolean): boolean {
  const line = lines[i] ?? '';
  if (line.startsWith('@@') || line.startsWith('diff --git ')) return true;
  if (full && (line === '-- ' || line === '--')) return true;
  // A "--- x" / "+++ y" pair inside an unfinished hunk is a removed and an added line unless a hunk header follows.
  return (
    line.startsWith('--- ') &&
    (lines[i + 1] ?? '').startsWith('+++ ') &&
    (full || (lines[i + 2] ?? '').startsWith('@@'))
  );
}

function finishFile(d: Draft): DiffFile {
  const label = `file at line ${d.line + 1}`;
  if (
    d.hunks === 0 &&
    !d.binary &&
    !d.newFile &&
    !d.deleted &&
    !d.modeChange &&
    d.renameFrom === null &&
    d.copyFrom === null
  ) {
    throw new DiffParseError(`${fileLabel(d)}: no changes (no hunks, mode change, rename or binary marker)`);
  }
  const headerOld = d.header?.old.path;
  const headerNew = d.header?.new.path;
  if (
    d.minus !== null &&
    d.minus.path !== null &&
    headerOld != null &&
    d.minus.path !== headerOld &&
    d.renameFrom === null &&
    d.copyFrom === null
  ) {
    throw new DiffParseError(`${label}: "--- ${d.minus.path}" does not match its "diff --git" line (${headerOld})`);
  }
  if (
    d.plus !== null &&
    d.plus.path !== null &&
    headerNew != null &&
    d.plus.path !== headerNew &&
    d.renameTo === null &&
    d.copyTo === null
  ) {
    throw new DiffParseError(`${label}: "+++ ${d.plus.path}" does not match its "diff --git" line (${headerNew})`);
  }
  let oldPath = d.renameFrom ?? d.copyFrom ?? (d.minus ? d.minus.path : headerOld);
  let newPath = d.renameTo ?? d.copyTo ?? (d.plus ? d.plus.path : headerNew);
  if (d.newFile) oldPath = d.copyFrom;
  if (d.deleted) newPath = null;
  if (oldPath === undefined || newPath === undefined)
    throw new DiffParseError(`${label}: cannot tell which file it changes`);
  if (oldPath === null && newPath === null) throw new DiffParseError(`${label}: both sides are /dev/null`);
  const status: DiffFile['status'] =
    oldPath === null || d.copyFrom !== null
      ? 'added'
      : newPath === null
        ? 'deleted'
        : d.renameFrom !== null
          ? 'renamed'
          : 'modified';
  return { oldPath, newPath, status, added: d.added, removed: d.removed, binary: d.binary, newMode: d.newMode };
}

function fileLabel(d: Draft): string {
  const name = d.plus?.path ?? d.minus?.path ?? d.header?.new.path ?? d.header?.old.path;
  return name ? `file "${name}"` : `file at line ${d.line + 1}`;
}

function prefixStyle(drafts: Draft[]): ParsedDiff['pathPrefix'] {
  const refs = drafts
    .flatMap((d) => [d.header?.old, d.header?.new, d.minus, d.plus])
    .filter((r): r is PathRef => r != null && r.path !== null);
  if (refs.every((r) => r.prefixed)) return 'ab';
  return refs.some((r) => r.prefixed) ? 'mixed' : 'none';
}

/** The path of a `---` / `+++` field: unquoted, without a timestamp, with one a/ or b/ prefix stripped. */
function parsePathField(raw: string, line: number): PathRef {
  let name: string;
  if (raw.startsWith('"')) name = unquote(raw, line).value;
  else {
    const tab = raw.indexOf('\t');
    name = (tab >= 0 ? raw.slice(0, tab) : raw.replace(TIMESTAMP, '')).trimEnd();
  }
  if (name === '/dev/null') return { path: null, prefixed: false };
  return stripPrefix(name);
}

function stripPrefix(name: string): PathRef {
  return /^[ab]\//.test(name) ? { path: name.slice(2), prefixed: true } : { path: name, prefixed: false };
}

/** The two names of a `diff --git` line; null when spaces make them ambiguous (renames then name them). */
function gitHeaderNames(rest: string, line: number): { old: PathRef; new: PathRef } | null {
  const pair = (a: string, b: string): { old: PathRef; new: PathRef } => ({ old: stripPrefix(a), new: stripPrefix(b) });
  if (rest.startsWith('"')) {
    const first = unquote(rest, line);
    return pair(first.value, unquoteIfQuoted(first.rest.replace(/^ /, ''), line));
  }
  const quoted = rest.indexOf(' "');
  if (rest.endsWith('"') && quoted >= 0)
    return pair(rest.slice(0, quoted), unquote(rest.slice(quoted + 1), line).value);
  for (let at = rest.indexOf(' '); at >= 0; at = rest.indexOf(' ', at + 1)) {
    const [a, b] = [rest.slice(0, at), rest.slice(at + 1)];
    if (stripPrefix(a).path === stripPrefix(b).path) return pair(a, b);
  }
  const split = rest.indexOf(' b/');
  if (split > 0 && rest.indexOf(' b/', split + 1) < 0) return pair(rest.slice(0, split), rest.slice(split + 1));
  return null;
}

function unquoteIfQuoted(raw: string, line: number): string {
  return raw.startsWith('"') ? unquote(raw, line).value : raw;
}

/** Decodes git's C-style quoting (octal escapes are UTF-8 bytes). */
function unquote(raw: string, line: number): { value: string; rest: string } {
  let encoded = '';
  for (let i = 1; i < raw.length; ) {
    const c = raw[i] ?? '';
    if (c === '"') {
      try {
        return { value: decodeURIComponent(encoded), rest: raw.slice(i + 1) };
      } catch {
        throw new DiffParseError(`line ${line + 1}: quoted path is not valid UTF-8`);
      }
    }
    if (c !== '\\') {
      const cp = raw.codePointAt(i) ?? 0;
      encoded += encodeURIComponent(String.fromCodePoint(cp));
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const esc = raw[i + 1] ?? '';
    const octal = /^[0-3][0-7]{2}/.exec(raw.slice(i + 1, i + 4));
    if (octal) encoded += `%${parseInt(octal[0], 8).toString(16).padStart(2, '0')}`;
    else if (ESCAPES[esc] !== undefined) encoded += encodeURIComponent(ESCAPES[esc] ?? '');
    else throw new DiffParseError(`line ${line + 1}: bad escape "\\${esc}" in quoted path`);
    i += octal ? 4 : 2;
  }
  throw new DiffParseError(`line ${line + 1}: unterminated quoted path`);
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Every problem with the diff's paths (empty = acceptable): each old and new path must be a plain relative path inside
 * the repository — not absolute, no `..`, nothing in `.git`, no backslashes or control characters, no `~` — and not
 * under a `forbidden` path (an exact file or a directory prefix, compared case-insensitively). Binary changes,
 * symlinks, submodules and a mix of prefixed and unprefixed paths are problems too.
 */
export function validateDiffPaths(parsed: ParsedDiff, opts: { forbidden?: string[] } = {}): string[] {
  const problems = new Set<string>();
  if (parsed.pathPrefix === 'mixed') problems.add('the diff mixes a/ b/ prefixed paths with unprefixed ones');
  const forbidden = (opts.forbidden ?? []).map((f) => f.replace(/\/+$/, '').toLowerCase()).filter((f) => f !== '');
  for (const file of parsed.files) {
    const paths = [...new Set([file.oldPath, file.newPath])].filter((p): p is string => p !== null);
    for (const p of paths)
      for (const problem of pathProblems(p, forbidden)) problems.add(`path ${JSON.stringify(p)}: ${problem}`);
    const shown = JSON.stringify(file.newPath ?? file.oldPath);
    if (file.binary) problems.add(`path ${shown}: binary changes are not accepted`);
    if (file.newMode === '120000') problems.add(`path ${shown}: symbolic links are not accepted`);
    if (file.newMode === '160000') problems.add(`path ${shown}: submodules are not accepted`);
  }
  return [...problems];
}

function pathProblems(p: string, forbidden: string[]): string[] {
  const problems: string[] = [];
  const segments = p.split(/[/\\]/);
  if (p.trim() === '') problems.push('empty path');
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(p)) problems.push('absolute path');
  if (p.startsWith('~')) problems.push('starts with ~ (a home directory)');
  if (segments.includes('..')) problems.push('contains a ".." segment');
  if (segments.some((s) => /^\.git[. ]*$/i.test(s))) problems.push('touches a .git directory');
  if (p.includes('\\')) problems.push('contains a backslash');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) problems.push('contains NUL or control characters');
  const lower = p.toLowerCase();
  const hit = forbidden.find((f) => lower === f || lower.startsWith(`${f}/`));
  if (hit !== undefined) problems.push(`is under the forbidden path "${hit}"`);
  return problems;
}

export interface DiffCheck {
  ok: boolean;
  problems: string[];
  /** New paths, or the old path of a deleted file. */
  files: string[];
  changedLines: number;
}

/** The validation step of the proposal pipeline short of applying: parses, checks paths and the size limit; never throws. */
export function checkDiff(text: string, opts: { maxChangedLines: number; forbidden?: string[] }): DiffCheck {
  let parsed: ParsedDiff;
  try {
    parsed = parseUnifiedDiff(text);
  } catch (err) {
    if (!(err instanceof DiffParseError)) throw err;
    return { ok: false, problems: [err.message], files: [], changedLines: 0 };
  }
  const problems = validateDiffPaths(parsed, { forbidden: opts.forbidden });
  if (parsed.changedLines > opts.maxChangedLines) {
    problems.push(`the diff changes ${parsed.changedLines} lines, more than the limit of ${opts.maxChangedLines}`);
  }
  const files = parsed.files.map((f) => f.newPath ?? f.oldPath ?? '');
  return { ok: problems.length === 0, problems, files, changedLines: parsed.changedLines };
}

/**
 * The canonical text of a diff for duplicate detection: LF line ends; no `diff --git`, `index`, mode or similarity
 * lines; `---`/`+++` paths without timestamps or a/ b/ prefixes; no trailing whitespace; hunk headers with explicit
 * counts and no section text; no trailing empty lines. Never throws.
 */
export function normalizeDiff(text: string): string {
  const out: string[] = [];
  let [oldLeft, newLeft] = [0, 0];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (oldLeft > 0 || newLeft > 0) {
      const kind = line === '' ? ' ' : line[0];
      if (kind === '\\' || kind === ' ' || kind === '-' || kind === '+') {
        if (kind !== '+' && kind !== '\\') oldLeft -= 1;
        if (kind !== '-' && kind !== '\\') newLeft -= 1;
        out.push(line);
        return;
      }
      [oldLeft, newLeft] = [0, 0];
    }
    const hunk = HUNK_HEADER.exec(line);
    if (hunk) {
      const [oldStart, oldCount, newStart, newCount] = [hunk[1], hunk[2] ?? '1', hunk[3], hunk[4] ?? '1'];
      [oldLeft, newLeft] = [Number(oldCount), Number(newCount)];
      out.push(`@@ -${Number(oldStart)},${oldLeft} +${Number(newStart)},${newLeft} @@`);
    } else if (GIT_METADATA.test(line)) {
      return;
    } else if (line.startsWith('--- ') || line.startsWith('+++ ')) {
      out.push(`${line.slice(0, 4)}${normalizedPath(raw.replace(/\r$/, '').slice(4), i) ?? line.slice(4)}`);
    } else {
      out.push(line);
    }
  });
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

function normalizedPath(raw: string, line: number): string | undefined {
  try {
    return parsePathField(raw, line).path ?? '/dev/null';
  } catch {
    return undefined;
  }
}
