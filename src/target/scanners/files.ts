import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Directories never scanned: VCS metadata and installed dependencies (not the repository's own code). */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['.git', 'node_modules']);
export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_FILES = 20_000;

export interface ScannedFile {
  absolute: string;
  /** Relative to the scanned directory, posix separators. */
  relative: string;
}

export interface FileWalk {
  files: ScannedFile[];
  skippedLarge: number;
  truncated: boolean;
}

/**
 * Lists the regular files under `dir` that look like repository content: skips SKIPPED_DIRS, files over 1 MB and
 * symbolic links (a link could lead outside the repository). Stops at MAX_FILES. Binary files are left to the reader.
 */
export async function walkFiles(dir: string): Promise<FileWalk> {
  const walk: FileWalk = { files: [], skippedLarge: 0, truncated: false };
  const pending: string[] = [''];
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const relative = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) pending.push(relative);
      } else if (entry.isFile()) {
        if (walk.files.length >= MAX_FILES) {
          walk.truncated = true;
          return walk;
        }
        const absolute = path.join(dir, relative);
        if ((await lstat(absolute)).size > MAX_FILE_BYTES) walk.skippedLarge += 1;
        else walk.files.push({ absolute, relative });
      }
    }
  }
  return walk;
}
