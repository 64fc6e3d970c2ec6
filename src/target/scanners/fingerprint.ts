import { createHash } from 'node:crypto';
import type { FindingDraft, RawFinding } from './types';

/** Trims and collapses whitespace, so re-indenting a line does not change what identifies it. */
export function normalizeSnippet(line: string): string {
  return line.replace(/\s+/g, ' ').trim();
}

/** The text of 1-based `line` in `content` ('' when out of range). */
export function lineAt(content: string, line: number): string {
  return content.split(/\r?\n/)[line - 1] ?? '';
}

/**
 * Gives each draft its fingerprint: sha256 of tool, rule, file and the normalized snippet — never the line number, so
 * moving code keeps a finding's identity. Identical snippets of one rule in one file are told apart by their order of
 * appearance (kept in line/column order by the caller), which is also stable when code moves as a block.
 */
export function withFingerprints(drafts: readonly FindingDraft[]): RawFinding[] {
  const seen = new Map<string, number>();
  return drafts.map(({ snippet, ...finding }) => {
    const key = [finding.tool, finding.rule, finding.file ?? '', normalizeSnippet(snippet)].join('\0');
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    const fingerprint = createHash('sha256')
      .update(occurrence === 0 ? key : `${key}\0${occurrence}`)
      .digest('hex');
    return { ...finding, fingerprint };
  });
}
