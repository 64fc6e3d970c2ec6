import { h } from './dom';

const KEYWORDS = new Set(
  'async await break case catch class const continue default delete do else export extends false finally for from function if import in instanceof let new null return static super switch this throw true try typeof undefined var void while yield'.split(
    ' ',
  ),
);
const TOKEN =
  /(\/\/.*$|\/\*.*?\*\/|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|`(?:\\.|[^`\\])*`|\/(?![*/])(?:\\.|[^/\\\n])+\/[gimsuy]*(?=\s*[.,;)\]]|$)|\b\d+(?:\.\d+)?\b|\b[A-Za-z_$][\w$]*\b)/g;

/** One line of JS/TS code as spans by token kind (keyword, string, number, comment, regex): enough to read a diff. */
function highlight(code: string): Array<Node | string> {
  const out: Array<Node | string> = [];
  let last = 0;
  for (const m of code.matchAll(TOKEN)) {
    const text = m[0];
    const at = m.index ?? 0;
    if (at > last) out.push(code.slice(last, at));
    last = at + text.length;
    const kind =
      text.startsWith('//') || text.startsWith('/*')
        ? 'comment'
        : /^['"`]/.test(text)
          ? 'string'
          : text.startsWith('/')
            ? 'regex'
            : /^\d/.test(text)
              ? 'number'
              : KEYWORDS.has(text)
                ? 'keyword'
                : null;
    out.push(kind === null ? text : h('span', { class: `tok-${kind}` }, text));
  }
  if (last < code.length) out.push(code.slice(last));
  return out;
}

/** A unified diff as a table: old and new line numbers, the +/− marker, and highlighted code; file headers and hunks stand out. */
export function unifiedDiff(diff: string): HTMLElement {
  const rows: HTMLElement[] = [];
  let oldNo = 0;
  let newNo = 0;
  for (const line of diff.replace(/\n$/, '').split('\n')) {
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      rows.push(h('tr', { class: 'diff-hunk' }, h('td', { colspan: 3 }, line)));
    } else if (/^(diff --git|index |--- |\+\+\+ |new file|deleted file)/.test(line)) {
      rows.push(h('tr', { class: 'diff-file' }, h('td', { colspan: 3 }, line)));
    } else {
      const mark = line[0] ?? ' ';
      const kind = mark === '+' ? 'add' : mark === '-' ? 'del' : 'ctx';
      const nums = kind === 'add' ? ['', newNo++] : kind === 'del' ? [oldNo++, ''] : [oldNo++, newNo++];
      rows.push(
        h(
          'tr',
          { class: `diff-${kind}` },
          h('td', { class: 'ln' }, nums[0] ?? ''),
          h('td', { class: 'ln' }, nums[1] ?? ''),
          h('td', { class: 'code' }, mark, highlight(line.slice(1))),
        ),
      );
    }
  }
  return h('div', { class: 'diff' }, h('table', {}, h('tbody', {}, rows)));
}
