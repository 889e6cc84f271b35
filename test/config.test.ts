import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';

const GATEWAY_A = 'gateway-a-0123456789abcdef0123456789';
const GATEWAY_B = 'gateway-b-0123456789abcdef0123456789';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      REKEY_DATA_DIR: './data',
      PORT: 3000,
      REKEY_ADMINS: [],
      REKEY_API_TOKENS: [],
      REKEY_REMINDERS: [24 * 3_600_000, 3_600_000, 600_000],
      REKEY_CRON: '* * * * *',
      REKEY_POLICY_REMINDERS: [7 * 86_400_000, 86_400_000],
      REKEY_DIGEST_CRON: '0 9 * * 1',
      REKEY_KEY_PREFIX: 'rk_live',
      REKEY_CACHE_SIZE: 100_000,
      REKEY_CACHE_TTL: 30_000,
      LOG_LEVEL: 'info',
      REKEY_SCANNER_TOKENS: [],
      REKEY_QUIET_AFTER: 30 * 60_000,
      REKEY_ROLE: 'all',
      REKEY_DATABASE_POOLER: 'none',
      slackMode: 'local',
    });
    expect(config.REKEY_LISTEN_DATABASE_URL).toBeUndefined();
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('reads lists and picks the Slack mode from the credentials present', () => {
    const http = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      REKEY_ADMINS: 'U1, U2',
      REKEY_API_TOKENS: `${GATEWAY_A}, ${GATEWAY_B}`,
    });
    expect(http).toMatchObject({
      slackMode: 'http',
      REKEY_ADMINS: ['U1', 'U2'],
      REKEY_API_TOKENS: [GATEWAY_A, GATEWAY_B],
    });
    expect(
      loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: 'xapp-1' })
        .slackMode,
    ).toBe('socket');
  });

  it('reports one line per problem and never echoes a value', () => {
    const secret = 'xoxp-super-secret-value';
    let message = '';
    try {
      loadConfig({
        PORT: 'eighty',
        SLACK_BOT_TOKEN: secret,
        REKEY_CRON: 'every minute',
        REKEY_REMINDERS: '1h,soon',
        REKEY_POLICY_REMINDERS: '1w',
        REKEY_DIGEST_CRON: 'mondays',
        REKEY_KEY_PREFIX: 'Bad-Prefix',
        REKEY_CACHE_TTL: 'forever',
        DATABASE_URL: 'mysql://x',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    const lines = message.split('\n').filter((l) => l.startsWith('  - '));
    expect(lines.length).toBeGreaterThanOrEqual(9);
    for (const name of [
      'PORT',
      'SLACK_BOT_TOKEN',
      'REKEY_CRON',
      'REKEY_REMINDERS',
      'REKEY_POLICY_REMINDERS',
      'REKEY_DIGEST_CRON',
      'REKEY_KEY_PREFIX',
      'REKEY_CACHE_TTL',
      'DATABASE_URL',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain(secret);
  });

  it('names LOG_LEVEL when it is wrong, and treats empty variables as unset', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL must be one of/);
    expect(loadConfig({ PORT: '', DATABASE_URL: ' ', LOG_LEVEL: '' })).toMatchObject({
      PORT: 3000,
      LOG_LEVEL: 'info',
    });
    expect(loadConfig({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it('runs Socket Mode with the bot and app tokens alone (no signing secret needed)', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slackMode).toBe('socket');
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xapp-1' })).toThrow(/also needs SLACK_BOT_TOKEN/);
  });

  it('refuses an API token shorter than 32 characters, saying why, without echoing it', () => {
    const short = 'a'.repeat(31);
    let message = '';
    try {
      loadConfig({ REKEY_API_TOKENS: `${GATEWAY_A},${short}` });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('REKEY_API_TOKENS: every token must be at least 32 characters');
    expect(message).toContain('cannot be guessed');
    expect(message).not.toContain(short);
    expect(loadConfig({ REKEY_API_TOKENS: 'b'.repeat(32) }).REKEY_API_TOKENS).toEqual(['b'.repeat(32)]);
  });

  it('refuses a REKEY_CACHE_TTL over 5 minutes, saying how long a deleted key would stay accepted', () => {
    expect(() => loadConfig({ REKEY_CACHE_TTL: '301s' })).toThrow(
      /REKEY_CACHE_TTL must be at most 5m: .*deleted or ended key stays accepted/,
    );
    expect(() => loadConfig({ REKEY_CACHE_TTL: '1h' })).toThrow(/REKEY_CACHE_TTL must be at most 5m/);
    expect(loadConfig({ REKEY_CACHE_TTL: '5m' }).REKEY_CACHE_TTL).toBe(300_000);
  });

  it('needs the bot token and signing secret together', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/must be set together/);
  });

  it('keeps scanner tokens apart from API tokens, each at least 32 characters', () => {
    const config = loadConfig({ REKEY_API_TOKENS: GATEWAY_A, REKEY_SCANNER_TOKENS: GATEWAY_B });
    expect(config.REKEY_API_TOKENS).toEqual([GATEWAY_A]);
    expect(config.REKEY_SCANNER_TOKENS).toEqual([GATEWAY_B]);
    const short = 's'.repeat(20);
    expect(() => loadConfig({ REKEY_SCANNER_TOKENS: short })).toThrow(
      /REKEY_SCANNER_TOKENS: every token must be at least 32 characters/,
    );
  });

  it('takes REKEY_QUIET_AFTER between 5m and 24h only', () => {
    expect(loadConfig({ REKEY_QUIET_AFTER: '5m' }).REKEY_QUIET_AFTER).toBe(300_000);
    expect(loadConfig({ REKEY_QUIET_AFTER: '24h' }).REKEY_QUIET_AFTER).toBe(86_400_000);
    expect(() => loadConfig({ REKEY_QUIET_AFTER: '4m' })).toThrow(
      /REKEY_QUIET_AFTER must be between 5m and 24h/,
    );
    expect(() => loadConfig({ REKEY_QUIET_AFTER: '25h' })).toThrow(/REKEY_QUIET_AFTER must be between/);
    expect(() => loadConfig({ REKEY_QUIET_AFTER: 'soon' })).toThrow(/REKEY_QUIET_AFTER/);
  });

  it('runs split roles only on PostgreSQL, and checks Slack credentials only where they are used', () => {
    const db = { DATABASE_URL: 'postgres://rekey@db/rekey' };
    expect(() => loadConfig({ REKEY_ROLE: 'verify' })).toThrow(
      /REKEY_ROLE=verify needs DATABASE_URL: the embedded database belongs to one process/,
    );
    expect(() =>
      loadConfig({ REKEY_ROLE: 'bot', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }),
    ).toThrow(/REKEY_ROLE=bot needs DATABASE_URL/);
    // A verify replica neither needs nor reads Slack's variables, even malformed ones.
    const verify = loadConfig({ ...db, REKEY_ROLE: 'verify', SLACK_BOT_TOKEN: 'not-a-token' });
    expect(verify.REKEY_ROLE).toBe('verify');
    expect(verify.SLACK_BOT_TOKEN).toBeUndefined();
    expect(() => loadConfig({ ...db, REKEY_ROLE: 'bot' })).toThrow(/REKEY_ROLE=bot needs Slack credentials/);
    expect(
      loadConfig({ ...db, REKEY_ROLE: 'bot', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' })
        .REKEY_ROLE,
    ).toBe('bot');
    expect(() => loadConfig({ ...db, REKEY_ROLE: 'replica' })).toThrow(
      /REKEY_ROLE must be one of all, verify, bot/,
    );
  });

  it('refuses a transaction pooler without a direct URL for LISTEN', () => {
    const pooled = {
      DATABASE_URL: 'postgres://rekey@pgbouncer:6432/rekey',
      REKEY_DATABASE_POOLER: 'transaction',
    };
    expect(() => loadConfig(pooled)).toThrow(
      /REKEY_DATABASE_POOLER=transaction needs REKEY_LISTEN_DATABASE_URL/,
    );
    expect(() =>
      loadConfig({ REKEY_DATABASE_POOLER: 'transaction', REKEY_LISTEN_DATABASE_URL: 'postgres://x/y' }),
    ).toThrow(/REKEY_DATABASE_POOLER=transaction needs DATABASE_URL/);
    const config = loadConfig({ ...pooled, REKEY_LISTEN_DATABASE_URL: 'postgres://rekey@db:5432/rekey' });
    expect(config.REKEY_LISTEN_DATABASE_URL).toBe('postgres://rekey@db:5432/rekey');
    expect(() => loadConfig({ ...pooled, REKEY_DATABASE_POOLER: 'session' })).toThrow(
      /REKEY_DATABASE_POOLER must be none or transaction/,
    );
  });
});
