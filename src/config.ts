import cron from 'node-cron';
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { AppError } from './errors.ts';
import { PREFIX_PATTERN } from './keys/token.ts';

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const duration = (name: string, fallback: string, max?: { ms: number; why: string }) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a duration like 30s, 10m or 24h` });
        return z.NEVER;
      }
      if (max && ms > max.ms) {
        ctx.addIssue({ code: 'custom', message: `${name} must be at most ${max.why}` });
        return z.NEVER;
      }
      return ms;
    });

/** Reminder offsets (`24h,1h,10m`) in ms, longest first, each once. */
const offsets = (name: string, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const parsed = list(text).map(parseDuration);
      if (parsed.length === 0 || parsed.some((ms) => ms === null || ms <= 0)) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a comma-separated list of durations like ${fallback}`,
        });
        return z.NEVER;
      }
      return [...new Set(parsed as number[])].sort((a, b) => b - a);
    });

/**
 * Bearer tokens are the only thing between the internet and the verify API's answers: a short one can be
 * guessed or brute-forced, so each must be at least this long (e.g. `openssl rand -hex 32`).
 */
export const MIN_API_TOKEN_LENGTH = 32;

/**
 * The verify cache's TTL is the only bound on staleness when the cross-replica invalidation channel is
 * down: a deleted or ended key could keep being accepted for that long on another replica.
 */
export const MAX_CACHE_TTL_MS = 5 * 60_000;

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

const bearerTokens = (name: string) =>
  z
    .string()
    .optional()
    .transform(list)
    .refine((tokens) => tokens.every((token) => token.length >= MIN_API_TOKEN_LENGTH), {
      message:
        `${name}: every token must be at least ${MIN_API_TOKEN_LENGTH} characters, so it cannot be ` +
        'guessed (e.g. `openssl rand -hex 32`)',
    });

const postgresUrl = (name: string) =>
  optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: `${name} must be a postgres:// or postgresql:// URL`,
  });

/** What one process serves (README: "Operate rekey in production"). */
export const ROLES = ['all', 'verify', 'bot'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The cutover notice's quiet period: long enough that a client polling hourly-ish is not mistaken for
 * gone, short enough to be told within a working day.
 */
export const QUIET_AFTER_BOUNDS = { minMs: 5 * 60_000, maxMs: 24 * 3_600_000 } as const;

/** The environment table of the README's Configuration section, with its defaults. This is the only reader of process.env. */
const schema = z.object({
  DATABASE_URL: postgresUrl('DATABASE_URL'),
  REKEY_DATA_DIR: z.string().default('./data'),
  PORT: z.coerce
    .number({ message: 'PORT must be a number' })
    .int('PORT must be a whole number')
    .min(0, 'PORT must be between 0 and 65535')
    .max(65535, 'PORT must be between 0 and 65535')
    .default(3000),
  SLACK_BOT_TOKEN: optionalText.refine((v) => v === undefined || v.startsWith('xoxb-'), {
    message: 'SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)',
  }),
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText.refine((v) => v === undefined || v.startsWith('xapp-'), {
    message: 'SLACK_APP_TOKEN must be an app-level token (it starts with xapp-)',
  }),
  SLACK_API_URL: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'SLACK_API_URL must be an http(s) URL',
  }),
  REKEY_ADMINS: z.string().optional().transform(list),
  // Gateways' tokens (verify, authorize) and scanners' tokens (POST /v1/leaks) are separate: each token
  // does one job, so a gateway, which sees every client's key, cannot also file leak reports.
  REKEY_API_TOKENS: bearerTokens('REKEY_API_TOKENS'),
  REKEY_SCANNER_TOKENS: bearerTokens('REKEY_SCANNER_TOKENS'),
  REKEY_REMINDERS: offsets('REKEY_REMINDERS', '24h,1h,10m'),
  REKEY_CRON: z
    .string()
    .default('* * * * *')
    .refine((expr) => cron.validate(expr), {
      message: 'REKEY_CRON must be a valid cron expression, e.g. "* * * * *" for every minute',
    }),
  REKEY_POLICY_REMINDERS: offsets('REKEY_POLICY_REMINDERS', '7d,1d'),
  REKEY_DIGEST_CRON: z
    .string()
    .default('0 9 * * 1')
    .refine((expr) => cron.validate(expr), {
      message:
        'REKEY_DIGEST_CRON must be a valid cron expression (UTC), e.g. "0 9 * * 1" for Mondays at 09:00',
    }),
  REKEY_KEY_PREFIX: z
    .string()
    .default('rk_live')
    .refine((p) => PREFIX_PATTERN.test(p), {
      message: 'REKEY_KEY_PREFIX must be lower-case letters and digits in _-separated parts, e.g. rk_live',
    }),
  REKEY_CACHE_SIZE: z.coerce
    .number({ message: 'REKEY_CACHE_SIZE must be a number' })
    .int('REKEY_CACHE_SIZE must be a whole number')
    .min(1, 'REKEY_CACHE_SIZE must be at least 1')
    .default(100_000),
  REKEY_CACHE_TTL: duration('REKEY_CACHE_TTL', '30s', {
    ms: MAX_CACHE_TTL_MS,
    why: '5m: while the cross-replica invalidation channel is down, a deleted or ended key stays accepted on other replicas for up to this long',
  }),
  // At least 1s: one statement per replica per interval stays cheap; at most 5m: a crash loses at most this.
  REKEY_USAGE_FLUSH: duration('REKEY_USAGE_FLUSH', '10s').refine((ms) => ms >= 1_000 && ms <= 300_000, {
    message: 'REKEY_USAGE_FLUSH must be between 1s and 5m, e.g. 10s',
  }),
  REKEY_QUIET_AFTER: duration('REKEY_QUIET_AFTER', '30m').refine(
    (ms) => ms >= QUIET_AFTER_BOUNDS.minMs && ms <= QUIET_AFTER_BOUNDS.maxMs,
    { message: 'REKEY_QUIET_AFTER must be between 5m and 24h, e.g. 30m' },
  ),
  REKEY_ROLE: z.enum(ROLES, { message: 'REKEY_ROLE must be one of all, verify, bot' }).default('all'),
  REKEY_DATABASE_POOLER: z
    .enum(['none', 'transaction'], { message: 'REKEY_DATABASE_POOLER must be none or transaction' })
    .default('none'),
  REKEY_LISTEN_DATABASE_URL: postgresUrl('REKEY_LISTEN_DATABASE_URL'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

const SLACK_VARIABLES = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SLACK_API_URL'];

/** What the chosen role and database pooler need beyond each variable's own shape. */
function roleProblems(data: z.output<typeof schema>): string[] {
  const problems: string[] = [];
  const role = data.REKEY_ROLE;
  if (role !== 'all' && !data.DATABASE_URL) {
    problems.push(
      `REKEY_ROLE=${role} needs DATABASE_URL: the embedded database belongs to one process, so only ` +
        'REKEY_ROLE=all runs on it (split roles share a PostgreSQL server)',
    );
  }
  if (role === 'bot' && !data.SLACK_BOT_TOKEN) {
    problems.push(
      'REKEY_ROLE=bot needs Slack credentials: SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)',
    );
  }
  if (data.REKEY_DATABASE_POOLER === 'transaction') {
    if (!data.DATABASE_URL) {
      problems.push("REKEY_DATABASE_POOLER=transaction needs DATABASE_URL (the pooler's address)");
    }
    if (!data.REKEY_LISTEN_DATABASE_URL) {
      problems.push(
        'REKEY_DATABASE_POOLER=transaction needs REKEY_LISTEN_DATABASE_URL: a direct PostgreSQL URL for LISTEN, which a transaction pooler cannot carry',
      );
    }
  }
  return problems;
}

export type Config = z.output<typeof schema> & {
  /** Slack credentials present: HTTP (or Socket) mode. Absent: local mode. */
  slackMode: 'http' | 'socket' | 'local';
};

/**
 * Parses the environment. Every problem is reported on its own line, naming the variable but never
 * echoing its value (it may be a secret).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PORT=`) means unset, as in most shells' and orchestrators' templates.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value?.trim()));
  // A verify replica never talks to Slack: its credentials are not read at all (nor checked), so the
  // gateway path can run where the Slack secrets are not mounted.
  if (present.REKEY_ROLE?.trim() === 'verify') {
    for (const name of SLACK_VARIABLES) delete present[name];
  }
  const parsed = schema.safeParse(present);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  const data = parsed.success ? parsed.data : undefined;
  if (data) problems.push(...roleProblems(data));
  if (data) {
    const hasToken = Boolean(data.SLACK_BOT_TOKEN);
    const hasSecret = Boolean(data.SLACK_SIGNING_SECRET);
    if (data.SLACK_APP_TOKEN) {
      // Socket Mode receives events over its own authenticated connection: no signing secret needed.
      if (!hasToken) problems.push('SLACK_APP_TOKEN (Socket Mode) also needs SLACK_BOT_TOKEN');
    } else if (hasToken !== hasSecret) {
      problems.push(
        'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set together (or neither, for local mode)',
      );
    }
  }
  if (problems.length > 0 || !data) {
    throw new AppError(
      'CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  const slackMode = !data.SLACK_BOT_TOKEN ? 'local' : data.SLACK_APP_TOKEN ? 'socket' : 'http';
  return { ...data, slackMode };
}
