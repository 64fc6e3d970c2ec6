import {
  checkDiff,
  DiffParseError,
  normalizeDiff,
  parseUnifiedDiff,
  validateDiffPaths,
  type ParsedDiff,
} from '../../src/domain/diff';

const GIT_DIFF = `diff --git a/src/math.js b/src/math.js
index 3b18e51..a1b2c3d 100644
--- a/src/math.js
+++ b/src/math.js
@@ -1,4 +1,5 @@ function add(a, b) {
 function add(a, b) {
-  return a - b;
+  // fixed
+  return a + b;
 }
 
@@ -10,2 +11,2 @@
-module.exports = { add };
+module.exports = { add, sub };
 // end
diff --git a/src/new.js b/src/new.js
new file mode 100644
index 0000000..e69de29
--- /dev/null
+++ b/src/new.js
@@ -0,0 +1,2 @@
+exports.x = 1;
+exports.y = 2;
diff --git a/old.txt b/old.txt
deleted file mode 100644
index e69de29..0000000
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
\\ No newline at end of file
diff --git a/docs/a.md b/docs/b.md
similarity index 90%
rename from docs/a.md
rename to docs/b.md
index 1111111..2222222 100644
--- a/docs/a.md
+++ b/docs/b.md
@@ -1 +1 @@
-# A
+# B
`;

const PLAIN_DIFF = `--- src/a.js\t2024-05-01 10:00:00.000000000 +0000
+++ src/a.js\t2024-05-01 10:05:00.000000000 +0000
@@ -1 +1 @@
-exports.a = 1;
+exports.a = 2;`;

function parsed(
  paths: Array<[string | null, string | null]>,
  extra: Partial<ParsedDiff['files'][number]> = {},
): ParsedDiff {
  return {
    files: paths.map(([oldPath, newPath]) => ({
      oldPath,
      newPath,
      status: 'modified',
      added: 1,
      removed: 0,
      binary: false,
      newMode: null,
      ...extra,
    })),
    added: paths.length,
    removed: 0,
    changedLines: paths.length,
    pathPrefix: 'ab',
  };
}

function modify(file: string, lines = 1): string {
  const body = Array.from({ length: lines }, (_, i) => `+line ${i}`).join('\n');
  return `--- a/${file}\n+++ b/${file}\n@@ -1 +1,${lines + 1} @@\n x\n${body}\n`;
}

describe('parseUnifiedDiff', () => {
  it('reads a git diff with modified, added, deleted and renamed files and counts the lines', () => {
    const diff = parseUnifiedDiff(GIT_DIFF);
    expect(diff.files).toEqual([
      {
        oldPath: 'src/math.js',
        newPath: 'src/math.js',
        status: 'modified',
        added: 3,
        removed: 2,
        binary: false,
        newMode: null,
      },
      { oldPath: null, newPath: 'src/new.js', status: 'added', added: 2, removed: 0, binary: false, newMode: '100644' },
      { oldPath: 'old.txt', newPath: null, status: 'deleted', added: 0, removed: 1, binary: false, newMode: null },
      {
        oldPath: 'docs/a.md',
        newPath: 'docs/b.md',
        status: 'renamed',
        added: 1,
        removed: 1,
        binary: false,
        newMode: null,
      },
    ]);
    expect(diff).toMatchObject({ added: 6, removed: 4, changedLines: 10, pathPrefix: 'ab' });
  });

  it('reads a plain diff with timestamps, CRLF line ends and no final newline, keeping unprefixed paths as they are', () => {
    const diff = parseUnifiedDiff(PLAIN_DIFF.replace(/\n/g, '\r\n'));
    expect(diff.files).toEqual([
      {
        oldPath: 'src/a.js',
        newPath: 'src/a.js',
        status: 'modified',
        added: 1,
        removed: 1,
        binary: false,
        newMode: null,
      },
    ]);
    expect(diff.pathPrefix).toBe('none');
  });

  it('strips one a/ b/ prefix from plain diffs and ignores a preamble', () => {
    const diff = parseUnifiedDiff(`Here is the fix:\n\n${modify('a/lib.js')}`);
    expect(diff.files[0]).toMatchObject({ oldPath: 'a/lib.js', newPath: 'a/lib.js', added: 1 });
    expect(diff.pathPrefix).toBe('ab');
  });

  it('reads a renamed file without content changes and a mode change', () => {
    const diff = parseUnifiedDiff(
      'diff --git a/x y.js b/z.js\nsimilarity index 100%\nrename from x y.js\nrename to z.js\n' +
        'diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n',
    );
    expect(diff.files).toEqual([
      { oldPath: 'x y.js', newPath: 'z.js', status: 'renamed', added: 0, removed: 0, binary: false, newMode: null },
      {
        oldPath: 'run.sh',
        newPath: 'run.sh',
        status: 'modified',
        added: 0,
        removed: 0,
        binary: false,
        newMode: '100755',
      },
    ]);
  });

  it('decodes git-quoted paths', () => {
    const diff = parseUnifiedDiff(
      'diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"\n--- "a/caf\\303\\251.txt"\n+++ "b/caf\\303\\251.txt"\n@@ -1 +1 @@\n-a\n+b\n',
    );
    expect(diff.files[0]?.newPath).toBe('café.txt');
  });

  it('takes an empty line inside a hunk as an empty context line, as git does', () => {
    const diff = parseUnifiedDiff('--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n');
    expect(diff.files[0]).toMatchObject({ added: 1, removed: 1 });
  });

  it('marks binary changes', () => {
    const diff = parseUnifiedDiff(
      'diff --git a/logo.png b/logo.png\nindex 1..2 100644\nBinary files a/logo.png and b/logo.png differ\n' +
        'diff --git a/icon.png b/icon.png\nnew file mode 100644\nindex 0..3\nGIT binary patch\nliteral 5\nMcmZQzWMT#a0096100\n\nliteral 0\nHcmV?d00001\n\n' +
        'diff --git a/b.js b/b.js\n--- a/b.js\n+++ b/b.js\n@@ -1 +1 @@\n-1\n+2\n',
    );
    expect(diff.files.map((f) => [f.newPath, f.status, f.binary])).toEqual([
      ['logo.png', 'modified', true],
      ['icon.png', 'added', true],
      ['b.js', 'modified', false],
    ]);
  });

  it.each([
    ['garbage', 'this is not a diff at all', /no file changes found/],
    ['an empty text', '', /no file changes found/],
    ['a hunk outside a file', '@@ -1 +1 @@\n-a\n+b\n', /line 1: hunk header "@@ -1 \+1 @@" is not inside a file/],
    [
      'a malformed hunk header',
      '--- a/f\n+++ b/f\n@@ -1,x +1 @@\n-a\n+b\n',
      /file "f", hunk 1 \(line 3\): malformed hunk header "@@ -1,x \+1 @@"/,
    ],
    ['a header without @@ at the end', '--- a/f\n+++ b/f\n@@ -1 +1\n-a\n+b\n', /malformed hunk header/],
    ['a file without hunks', '--- a/f\n+++ b/f\n', /file "f": no changes/],
    [
      'diff --git names that disagree with ---',
      'diff --git a/f b/f\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n-a\n+b\n',
      /does not match its "diff --git" line/,
    ],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseUnifiedDiff(text)).toThrow(DiffParseError);
    expect(() => parseUnifiedDiff(text)).toThrow(message);
  });

  it('names the file and hunk whose body is shorter than its header says', () => {
    const text = `${modify('ok.js')}--- a/src/bad.js\n+++ b/src/bad.js\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n@@ -10,3 +10,4 @@\n x\n+y\n z\n`;
    expect(() => parseUnifiedDiff(text)).toThrow(
      'file "src/bad.js", hunk 2 (line 12): the header "@@ -10,3 +10,4 @@" promises 3 old and 4 new lines but the body has 2 old (context + removed) and 3 new (context + added) lines',
    );
  });

  it('names the hunk whose body is longer than its header says', () => {
    expect(() => parseUnifiedDiff('--- a/f.js\n+++ b/f.js\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n+d\n')).toThrow(
      /file "f.js", hunk 1 .* promises 2 old and 2 new lines but the body has 2 old .* and 3 new/,
    );
  });

  it('does not run a short hunk into the next plain file header', () => {
    const text = '--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n-x\n+y\n';
    expect(() => parseUnifiedDiff(text)).toThrow(/file "f", hunk 1 .* the body has 2 old .* and 2 new/);
  });
});

describe('validateDiffPaths', () => {
  it('accepts ordinary relative paths', () => {
    expect(
      validateDiffPaths(
        parsed([
          ['src/a.js', 'src/a.js'],
          [null, 'docs/new file.md'],
          ['old.txt', null],
        ]),
      ),
    ).toEqual([]);
  });

  it.each([
    ['', 'empty path'],
    ['/etc/passwd', 'absolute path'],
    ['C:\\Windows\\x', 'absolute path'],
    ['C:/Windows/x', 'absolute path'],
    ['\\\\server\\share', 'absolute path'],
    ['../outside.js', 'contains a ".." segment'],
    ['src/../../outside.js', 'contains a ".." segment'],
    ['.git/hooks/pre-commit', 'touches a .git directory'],
    ['sub/.GIT/config', 'touches a .git directory'],
    ['src\\a.js', 'contains a backslash'],
    ['src/a\0.js', 'contains NUL or control characters'],
    ['src/a\n.js', 'contains NUL or control characters'],
    ['~/.bashrc', 'starts with ~ (a home directory)'],
  ])('refuses the path %j', (p, problem) => {
    expect(validateDiffPaths(parsed([['ok.js', p]]))).toContain(`path ${JSON.stringify(p)}: ${problem}`);
    expect(validateDiffPaths(parsed([[p, null]]))).toContain(`path ${JSON.stringify(p)}: ${problem}`);
  });

  it('refuses binary changes, symlinks, submodules, forbidden paths and mixed prefixes', () => {
    expect(validateDiffPaths(parsed([['logo.png', 'logo.png']], { binary: true }))).toEqual([
      'path "logo.png": binary changes are not accepted',
    ]);
    expect(validateDiffPaths(parsed([[null, 'link']], { newMode: '120000' }))).toEqual([
      'path "link": symbolic links are not accepted',
    ]);
    expect(validateDiffPaths(parsed([[null, 'vendor/lib']], { newMode: '160000' }))).toEqual([
      'path "vendor/lib": submodules are not accepted',
    ]);
    expect(
      validateDiffPaths(
        parsed([
          ['.github/workflows/ci.yml', '.github/workflows/ci.yml'],
          ['src/a.js', 'src/a.js'],
        ]),
        { forbidden: ['.github/'] },
      ),
    ).toEqual(['path ".github/workflows/ci.yml": is under the forbidden path ".github"']);
    expect(validateDiffPaths(parseUnifiedDiff(`${modify('a.js')}--- b.js\n+++ b.js\n@@ -1 +1 @@\n-a\n+b\n`))).toEqual([
      'the diff mixes a/ b/ prefixed paths with unprefixed ones',
    ]);
  });
});

describe('checkDiff', () => {
  it('accepts a small valid diff and lists its files (the old path of a deletion)', () => {
    expect(checkDiff(GIT_DIFF, { maxChangedLines: 200 })).toEqual({
      ok: true,
      problems: [],
      files: ['src/math.js', 'src/new.js', 'old.txt', 'docs/b.md'],
      changedLines: 10,
    });
  });

  it('turns a parse error into one problem', () => {
    expect(checkDiff('nonsense', { maxChangedLines: 200 })).toEqual({
      ok: false,
      problems: [expect.stringMatching(/no file changes found/)],
      files: [],
      changedLines: 0,
    });
  });

  it('refuses a diff over the size limit, naming both numbers', () => {
    const result = checkDiff(modify('big.js', 201), { maxChangedLines: 200 });
    expect(result).toMatchObject({ ok: false, changedLines: 201, files: ['big.js'] });
    expect(result.problems).toEqual(['the diff changes 201 lines, more than the limit of 200']);
    expect(checkDiff(modify('big.js', 200), { maxChangedLines: 200 }).ok).toBe(true);
  });

  it('reports path problems', () => {
    const result = checkDiff(modify('../escape.js'), { maxChangedLines: 200 });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(['path "../escape.js": contains a ".." segment']);
  });
});

describe('normalizeDiff', () => {
  const plain =
    '--- a/src/math.js\n+++ b/src/math.js\n@@ -1,3 +1,3 @@\n function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n';

  it('ignores CRLF, git metadata, timestamps, prefixes, trailing spaces, section text and trailing empty lines', () => {
    const noisy =
      'diff --git a/src/math.js b/src/math.js\r\nindex 3b18e51..a1b2c3d 100644\r\n' +
      '--- src/math.js\t2024-05-01 10:00:00.000000000 +0000\r\n+++ src/math.js\t2024-05-01 10:05:00 +0200\r\n' +
      '@@ -1,3 +1,3 @@ function add(a, b) {\r\n function add(a, b) {  \r\n-  return a - b;\r\n+  return a + b;\t\r\n }\r\n\r\n\r\n';
    expect(normalizeDiff(noisy)).toBe(normalizeDiff(plain));
    expect(normalizeDiff(plain)).toBe(
      '--- src/math.js\n+++ src/math.js\n@@ -1,3 +1,3 @@\n function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n',
    );
  });

  it('keeps diffs apart that change a line differently', () => {
    expect(normalizeDiff(plain.replace('a + b', 'b + a'))).not.toBe(normalizeDiff(plain));
  });

  it('keeps a removed line that looks like a file header as content', () => {
    const text = '--- a/f\n+++ b/f\n@@ -1 +1 @@\n--- a/x\n+y\n';
    expect(normalizeDiff(text)).toBe('--- f\n+++ f\n@@ -1,1 +1,1 @@\n--- a/x\n+y\n');
  });
});
