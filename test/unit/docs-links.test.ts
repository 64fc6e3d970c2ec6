import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The README and docs/ stay navigable: every relative link in README.md and docs/*.md points at a file that exists,
 * and every #anchor at a heading of that file, slugged the way GitHub slugs headings. The README stays the front door
 * (two screens, linking every page of docs/).
 */

const ROOT = path.resolve(__dirname, '../..');
const README_MAX_LINES = 100;

/** GitHub's heading anchor (github-slugger): lower case, every character but letters, marks, digits, `_`, space and `-` dropped, spaces to `-`. */
function githubSlug(heading: string): string {
  return headingText(heading)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** A heading's text as GitHub renders it: code spans, links and images by their text, emphasis and HTML tags dropped. */
function headingText(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/[*~]/g, '')
    .trim();
}

interface Link {
  line: number;
  target: string;
}

interface Page {
  anchors: Set<string>;
  links: Link[];
}

/** Headings (as anchors, duplicates numbered like GitHub: `x`, `x-1`, …) and links of one markdown text, code left out. */
function parseMarkdown(text: string): Page {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const links: Link[] = [];
  let fence: string | null = null;
  text.split('\n').forEach((raw, i) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(raw);
    if (fence !== null) {
      if (opening !== null && opening[1]?.[0] === fence[0] && (opening[1]?.length ?? 0) >= fence.length) fence = null;
      return;
    }
    if (opening?.[1] !== undefined) {
      fence = opening[1];
      return;
    }
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(raw);
    if (heading?.[1] !== undefined) {
      const slug = githubSlug(heading[1]);
      const n = seen.get(slug) ?? 0;
      seen.set(slug, n + 1);
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
    }
    for (const m of raw.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) if (m[1] !== undefined) anchors.add(m[1]);
    const line = raw.replace(/`[^`]*`/g, '');
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      if (m[1] !== undefined) links.push({ line: i + 1, target: m[1] });
    const reference = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (reference?.[1] !== undefined) links.push({ line: i + 1, target: reference[1] });
  });
  return { anchors, links };
}

/** Every broken relative link of `files` (paths relative to `root`), as `file:line: target — why`. */
function brokenLinks(root: string, files: string[]): string[] {
  const pages = new Map<string, Page>();
  const page = (file: string): Page => {
    let p = pages.get(file);
    if (p === undefined) {
      p = parseMarkdown(readFileSync(path.join(root, file), 'utf8'));
      pages.set(file, p);
    }
    return p;
  };
  const problems: string[] = [];
  for (const file of files) {
    for (const { line, target } of page(file).links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const where = `${file}:${line}: ${target}`;
      const hash = target.indexOf('#');
      const filePart = hash === -1 ? target : target.slice(0, hash);
      const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
      const resolved =
        filePart === ''
          ? file
          : path.normalize(
              filePart.startsWith('/')
                ? filePart.slice(1)
                : path.join(path.dirname(file), decodeURIComponent(filePart)),
            );
      if (resolved.startsWith('..') || path.isAbsolute(resolved)) {
        problems.push(`${where} — outside the repository`);
        continue;
      }
      if (!existsSync(path.join(root, resolved))) {
        problems.push(`${where} — no such file`);
        continue;
      }
      if (anchor === null || anchor === '') continue;
      if (!resolved.endsWith('.md') || statSync(path.join(root, resolved)).isDirectory()) {
        problems.push(`${where} — an anchor into a file that is not markdown`);
        continue;
      }
      if (!page(resolved).anchors.has(anchor))
        problems.push(`${where} — ${resolved} has no heading with anchor #${anchor}`);
    }
  }
  return problems;
}

function docsFiles(): string[] {
  return readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
}

describe('documentation links', () => {
  it('slugs headings as GitHub does', () => {
    expect(githubSlug('Task queues and workers')).toBe('task-queues-and-workers');
    expect(githubSlug('What an operator may safely do in the Temporal UI')).toBe(
      'what-an-operator-may-safely-do-in-the-temporal-ui',
    );
    expect(githubSlug('Live progress and notifications')).toBe('live-progress-and-notifications');
    expect(githubSlug('`WORKER_QUEUES` — the kinds of work (v2)')).toBe('worker_queues--the-kinds-of-work-v2');
    expect(githubSlug('[Rules](configuration.md#rules) & *budgets*')).toBe('rules--budgets');
  });

  it('numbers repeated headings, ignores headings and links in code', () => {
    const { anchors, links } = parseMarkdown(
      [
        '# A',
        '## Same',
        '## Same',
        '```bash',
        '# a comment',
        '[x](nowhere.md)',
        '```',
        'see `[y](nor-here.md)` and [z](z.md#b)',
      ].join('\n'),
    );
    expect([...anchors]).toEqual(['a', 'same', 'same-1']);
    expect(links).toEqual([{ line: 8, target: 'z.md#b' }]);
  });

  it('finds a missing file, a missing anchor and a link out of the repository', () => {
    const fixture = path.join(ROOT, 'test/fixtures/docs-links');
    expect(brokenLinks(fixture, ['index.md']).map((p) => p.replace(/ — .*/, ''))).toEqual([
      'index.md:3: missing.md',
      'index.md:4: other.md#nope',
      'index.md:5: #nope',
      'index.md:6: ../../outside.md',
    ]);
  });

  it('every relative link and anchor in README.md and docs/*.md resolves', () => {
    expect(brokenLinks(ROOT, ['README.md', ...docsFiles()])).toEqual([]);
  });

  it('README stays two screens and links every page of docs/', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
    const linked = new Set(parseMarkdown(readme).links.map((l) => l.target.split('#')[0]));
    expect(docsFiles().filter((f) => !linked.has(f))).toEqual([]);
  });
});
