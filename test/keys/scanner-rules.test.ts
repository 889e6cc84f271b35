import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findKeyStrings, KEY_SHAPE_SOURCE } from '../../src/keys/leak-scan.ts';
import { generateToken } from '../../src/keys/token.ts';
import { PROJECT_ROOT } from '../support/spawn-rekey.ts';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The fenced block of `language` between the README's `<!-- name:start -->` and `<!-- name:end -->`. */
function readmeBlock(name: string, language: string): string {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(`<!-- ${name}:start -->`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`README.md has no ${name} section`);
  const fenced = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(readme.slice(start, end));
  if (!fenced) throw new Error(`README.md: no \`\`\`${language} block in the ${name} section`);
  return fenced[1]!;
}

/** A key, and the same key with one character dropped (a truncated paste): no longer key-shaped. */
function realAndTypo(prefix = 'rk_live') {
  const { token } = generateToken(prefix);
  return { token, typo: `${token.slice(0, 25)}${token.slice(26)}` };
}

const scratch = mkdtempSync(join(tmpdir(), 'rekey-scanner-rules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the README’s gitleaks rule', () => {
  const toml = readmeBlock('gitleaks-rule', 'toml');
  const regex = /^regex = '''(.*)'''$/m.exec(toml)?.[1];

  it('uses the expression rekey’s own scanner uses', () => {
    expect(regex).toBe(KEY_SHAPE_SOURCE);
    expect(toml).toContain('id = "rekey-api-key"');
  });

  it('matches a real key of any prefix and not one with a character missing', () => {
    const pattern = new RegExp(regex!, 'g');
    for (const prefix of ['rk_live', 'acme_pay_v2']) {
      const { token, typo } = realAndTypo(prefix);
      expect(`API_KEY=${token}\nOTHER=${typo}\n`.match(pattern)).toEqual([token]);
    }
  });
});

describe('the README’s secretlint rule', () => {
  const config = readmeBlock('secretlint-rule', 'json');

  it('uses the expression rekey’s own scanner uses', () => {
    const rule = (JSON.parse(config) as { rules: { options: { patterns: { patterns: string[] }[] } }[] })
      .rules[0]!;
    expect(rule.options.patterns[0]!.patterns).toEqual([`/${KEY_SHAPE_SOURCE}/`]);
  });

  it('run by secretlint on a file with a real key and a typo’d one, reports exactly the real one', async () => {
    const { token, typo } = realAndTypo();
    const rc = join(scratch, '.secretlintrc.json');
    const file = join(scratch, 'config.env');
    const content = `# staging\nOTHER_KEY=${typo}\nAPI_KEY=${token}\n`;
    writeFileSync(rc, config);
    writeFileSync(file, content);
    // secretlint exits 1 when it found something: that is the expected outcome here.
    const run = await promisify(execFile)(
      process.execPath,
      [
        join(PROJECT_ROOT, 'node_modules/secretlint/bin/secretlint.js'),
        file,
        '--secretlintrc',
        rc,
        '--format',
        'json',
      ],
      { cwd: PROJECT_ROOT },
    ).catch((error: { code?: number; stdout?: string }) => {
      if (error.code !== 1) throw error;
      return { stdout: error.stdout ?? '' };
    });
    const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; range: [number, number] }[] }[];
    expect(result!.messages.map((m) => [m.ruleId, content.slice(...m.range)])).toEqual([
      ['@secretlint/secretlint-rule-pattern', token],
    ]);
    // rekey's scanner agrees, and also rules out what only the checksum can.
    expect(findKeyStrings(content).keys).toEqual([token]);
  });
});
