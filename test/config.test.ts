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
      slackMode: 'local',
    });
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
});
