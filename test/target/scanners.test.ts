import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EXAMPLE_TARGET_DIR } from '../../src/target';
import { runSecurityScanners, type RawFinding, type ScanReport, type ToolRun } from '../../src/target/scanners';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-scanners-'));
  await cp(EXAMPLE_TARGET_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const scan = (opts?: Parameters<typeof runSecurityScanners>[1]): Promise<ScanReport> => runSecurityScanners(dir, opts);
const toolRun = (report: ScanReport, tool: ToolRun['tool']): ToolRun | undefined =>
  report.tools.find((t) => t.tool === tool);
const findingsOf = (report: ScanReport, rule: string, file: string): RawFinding[] =>
  report.findings.filter((f) => f.rule === rule && f.file === file);

async function editFile(relative: string, edit: (text: string) => string): Promise<void> {
  const file = path.join(dir, relative);
  const before = await readFile(file, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before);
  await writeFile(file, after);
}

it('finds the hard-coded AWS secret key in src/config.js without repeating its value', async () => {
  const line10 = (await readFile(path.join(dir, 'src/config.js'), 'utf8')).split('\n')[9] ?? '';
  const secret = /awsSecretAccessKey: '([^']+)'/.exec(line10)?.[1] ?? '';
  expect(secret).toHaveLength(40);

  const report = await scan({ npmAudit: false });

  expect(toolRun(report, 'secretlint')).toMatchObject({ status: 'ok', findings: 1 });
  const [finding] = findingsOf(report, '@secretlint/secretlint-rule-aws', 'src/config.js');
  expect(finding).toMatchObject({
    tool: 'secretlint',
    line: 10,
    severity: 'critical',
    data: { messageId: 'AWSSecretAccessKey' },
  });
  expect(finding?.message).toContain('AWS Secret Access Key');
  expect(finding?.data?.maskedLine).toBe("awsSecretAccessKey: '****',");
  // Not even a fragment of the value leaves the scanner.
  const serialized = JSON.stringify(report);
  for (let i = 0; i + 6 <= secret.length; i += 1) expect(serialized).not.toContain(secret.slice(i, i + 6));
});

it('finds the command injection and the SQL concatenation in src/users.js', async () => {
  const report = await scan({ npmAudit: false });

  expect(toolRun(report, 'eslint-security')?.status).toBe('ok');
  expect(findingsOf(report, 'security/detect-child-process', 'src/users.js')).toEqual([
    expect.objectContaining({ tool: 'eslint-security', line: 31, severity: 'high' }),
  ]);
  const sql = findingsOf(report, 'lvlup/sql-concatenation', 'src/users.js');
  expect(sql).toContainEqual(expect.objectContaining({ tool: 'eslint-security', line: 12, severity: 'high' }));
  // The shell command on line 31 is concatenated too, but it is not SQL.
  expect(sql.map((f) => f.line)).not.toContain(31);
  expect(
    findingsOf(report, 'security/detect-object-injection', 'src/stats.js').every((f) => f.severity === 'low'),
  ).toBe(true);
});

it('keeps every fingerprint when lines are inserted above the findings', async () => {
  const before = await scan({ npmAudit: false });
  await editFile('src/users.js', (text) => `\n\n\n${text}`);

  const after = await scan({ npmAudit: false });

  expect(after.findings.map((f) => f.fingerprint).sort()).toEqual(before.findings.map((f) => f.fingerprint).sort());
  const usersBefore = before.findings.filter((f) => f.file === 'src/users.js');
  expect(usersBefore.length).toBeGreaterThanOrEqual(2);
  for (const finding of usersBefore) {
    const moved = after.findings.find((f) => f.fingerprint === finding.fingerprint);
    expect(moved?.line).toBe((finding.line ?? 0) + 3);
  }
});

it('drops the SQL finding once the query is parameterized', async () => {
  const before = findingsOf(await scan({ npmAudit: false }), 'lvlup/sql-concatenation', 'src/users.js').find(
    (f) => f.line === 12,
  );
  expect(before).toBeDefined();
  await editFile('src/users.js', (text) =>
    text.replace(
      `return "SELECT id, name, email FROM users WHERE name = '" + name + "'";`,
      `return { text: 'SELECT id, name, email FROM users WHERE name = $1', values: [name] };`,
    ),
  );

  const after = await scan({ npmAudit: false });

  expect(after.findings.map((f) => f.fingerprint)).not.toContain(before?.fingerprint);
  expect(findingsOf(after, 'lvlup/sql-concatenation', 'src/users.js').filter((f) => f.line === 12)).toEqual([]);
});

it("never loads the target's own ESLint config", async () => {
  const marker = path.join(dir, 'config-was-loaded');
  await writeFile(
    path.join(dir, 'eslint.config.js'),
    `require('node:fs').writeFileSync(${JSON.stringify(marker)}, '');\nthrow new Error('target config loaded');\n`,
  );

  const report = await scan({ npmAudit: false });

  expect(toolRun(report, 'eslint-security')?.status).toBe('ok');
  expect(findingsOf(report, 'security/detect-child-process', 'src/users.js')).toHaveLength(1);
  expect(existsSync(marker)).toBe(false);
});

it("ignores the target's eslint-disable comments", async () => {
  await editFile('src/users.js', (text) => `/* eslint-disable */\n${text}`);

  const report = await scan({ npmAudit: false });

  expect(findingsOf(report, 'security/detect-child-process', 'src/users.js')).toHaveLength(1);
  expect(findingsOf(report, 'lvlup/sql-concatenation', 'src/users.js').length).toBeGreaterThanOrEqual(1);
});

it('reports npm audit as unavailable without a package-lock.json', async () => {
  const report = await scan();

  expect(toolRun(report, 'npm-audit')).toMatchObject({
    status: 'unavailable',
    detail: 'no package-lock.json',
    findings: 0,
  });
});

it('maps advisories, or reports unavailable when the registry cannot audit (as on a mirror without the endpoint)', async () => {
  // npm audits only what package.json asks for: a lock entry alone is extraneous and never sent to the registry.
  await editFile('package.json', (text) =>
    JSON.stringify({ ...JSON.parse(text), dependencies: { lodash: '4.17.20' } }, null, 2),
  );
  await writeFile(
    path.join(dir, 'package-lock.json'),
    JSON.stringify({
      name: 'lvlup-example-target',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'lvlup-example-target', version: '1.0.0', dependencies: { lodash: '4.17.20' } },
        'node_modules/lodash': {
          version: '4.17.20',
          resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz',
        },
      },
    }),
  );

  const report = await scan({ timeoutMs: 30_000 });

  const run = toolRun(report, 'npm-audit');
  if (run?.status === 'ok') {
    expect(report.findings.filter((f) => f.tool === 'npm-audit')).toContainEqual(
      expect.objectContaining({ file: 'package-lock.json', data: expect.objectContaining({ package: 'lodash' }) }),
    );
  } else {
    expect(run).toMatchObject({ status: 'unavailable', findings: 0 });
    expect(run?.detail).toMatch(/registry cannot audit|timed out/);
  }
});

it('reports a failing tool as an error while the other tools still report', async () => {
  await writeFile(path.join(dir, 'package-lock.json'), '{ not json');

  const report = await scan();

  expect(toolRun(report, 'npm-audit')).toMatchObject({ status: 'error', findings: 0 });
  expect(toolRun(report, 'npm-audit')?.detail).toContain('ENOLOCK');
  expect(toolRun(report, 'secretlint')?.status).toBe('ok');
  expect(toolRun(report, 'eslint-security')?.status).toBe('ok');
  expect(findingsOf(report, 'security/detect-child-process', 'src/users.js')).toHaveLength(1);
});
