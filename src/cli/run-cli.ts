import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { AppError, isAppError } from '../errors.ts';
import { DELAYS, isDelay } from '../keys/delay.ts';
import { isOnLeak, ON_LEAK_TEXT, type OnLeak } from '../keys/on-leak.ts';
import { parseRotateEvery } from '../keys/rotation-policy.ts';
import { MAX_USAGE_HOURS } from '../services/key-usage.ts';
import type { Services } from '../services/services.ts';
import type { Actor } from '../services/types.ts';
import { formatAudit, formatKey, formatKeyLine, formatKeyUsage, formatPolicy } from './format.ts';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const USAGE = `Usage: rekey keys <command> [options]   (add --json for machine output)

  keys create --name N [--products a,b] [--maintainers U1,U2] [--channel C1] [--rotate-every 90d]
              [--on-leak notify|rotate-1h|rotate-now]
                                    create a key; prints the key string once
  keys create --name N --canary [--maintainers U1,U2] [--channel C1]
                                    create a canary: a decoy key that is never valid; every
                                    use raises an alarm in the channel and to the maintainers
  keys list                         list keys
  keys show N                       show one key, with any old key still in grace, and each
                                    one's use (last used, calls in the last hour and 24 hours,
                                    its top clients)
  keys rotate N --delay now|1h|3h|24h|48h|72h --yes
                                    rotate; the old key keeps working for the delay
  keys end-grace N --yes            stop every old key of N now
  keys policy N [--rotate-every 90d|none] [--on-leak notify|rotate-1h|rotate-now]
                                    rotate N every 1d … 730d (reminders before it is due), or no policy;
                                    what rekey does by itself when a working key of N is reported leaked
  keys audit N                      the key's history
  keys usage N [--hours H] [--clients]
                                    calls per clock hour to each of N's keys, newest first
                                    (the last 24 hours unless H is given, at most ${MAX_USAGE_HOURS}),
                                    with a 24-hour sparkline per key; --clients adds who sent each
                                    (address and user agent, as the gateway passed them)`;

const csv = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function usageError(message: string): AppError {
  return new AppError('INVALID_INPUT', `${message}\n\n${USAGE}`);
}

/** The services a command runs on, or how to open them (`./data`, DATABASE_URL) once it needs them. */
export type CliServices = Services | (() => Promise<Services>);

/**
 * The admin CLI (its commands are listed in the README). Returns the exit code; output goes through `io`
 * so tests can read it. A command is checked in full (arguments, --delay, --yes, --rotate-every, --hours)
 * before the database is opened: a mistyped one is answered at once with what to type, even while a
 * server holds the embedded database's folder.
 */
export async function runCli(argv: string[], servicesOrOpen: CliServices, io: CliIo): Promise<number> {
  let opened: Services | undefined;
  const open = async (): Promise<Services> => {
    opened ??= typeof servicesOrOpen === 'function' ? await servicesOrOpen() : servicesOrOpen;
    return opened;
  };
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      name: { type: 'string' },
      products: { type: 'string' },
      maintainers: { type: 'string' },
      channel: { type: 'string' },
      delay: { type: 'string' },
      hours: { type: 'string' },
      clients: { type: 'boolean', default: false },
      'rotate-every': { type: 'string' },
      'on-leak': { type: 'string' },
      canary: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const print = (json: unknown, text: string) => io.out(values.json ? JSON.stringify(json, null, 2) : text);
  const [group, command, name] = positionals;
  if (values.help || group !== 'keys' || !command) {
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    throw usageError(
      group === undefined ? 'Missing command.' : `Unknown command "${positionals.join(' ')}".`,
    );
  }
  const actor: Actor = { id: `cli:${safeUser()}`, source: 'cli' };
  const needName = () => {
    if (!name) throw usageError(`"keys ${command}" needs a key name.`);
    return { name };
  };

  switch (command) {
    case 'create': {
      if (!values.name) throw usageError('"keys create" needs --name.');
      const rotateEvery = values['rotate-every'];
      const input = {
        name: values.name,
        products: csv(values.products),
        maintainers: csv(values.maintainers),
        alertChannel: values.channel ?? null,
        rotateEveryDays: rotateEvery === undefined ? null : rotateEveryDays(rotateEvery),
        ...(values['on-leak'] === undefined ? {} : { onLeak: onLeakOf(values['on-leak']) }),
        canary: values.canary,
        actor,
      };
      const { key, token } = await (await open()).createKey(input);
      print(
        { key, token },
        key.canary
          ? `Created canary key "${key.name}": it never works, and every use raises an alarm.\n\n  ${token}\n\nThis is the only time the key is shown: plant it where an intruder would look (a repository's .env, a CI variable, a wiki page).`
          : `Created key "${key.name}".\n\n  ${token}\n\nThis is the only time the key is shown: store it in your secret manager now.`,
      );
      return 0;
    }
    case 'list': {
      const keys = await (await open()).listKeys();
      print(
        keys,
        keys.length === 0
          ? 'No keys yet. Create one with: rekey keys create --name N'
          : keys.map(formatKeyLine).join('\n'),
      );
      return 0;
    }
    case 'show': {
      const ref = needName();
      const services = await open();
      const key = await services.showKeyWithUse(ref);
      print(key, formatKey(key, services.clock.now()));
      return 0;
    }
    case 'rotate': {
      const ref = needName();
      if (!isDelay(values.delay)) throw usageError(`--delay must be one of ${DELAYS.join(', ')}.`);
      if (!values.yes) {
        throw usageError('Rotation cannot be undone: add --yes to confirm that you understand.');
      }
      const result = await (await open()).rotateKey({
        key: ref,
        delay: values.delay,
        actor,
        acknowledged: true,
        requestId: `cli:${randomUUID()}`,
      });
      if (result.status !== 'rotated') throw new AppError('INTERNAL', 'rotation was not applied');
      const ends =
        values.delay === 'now'
          ? 'stopped working now'
          : `keeps working until ${result.oldSecret.expiresAt!.toISOString()}`;
      print(
        { key: result.key, token: result.token, oldSecret: result.oldSecret, newSecret: result.newSecret },
        `Rotated "${result.key.name}". The old key ${result.oldSecret.display} ${ends}.\n\n  ${result.token}\n\n` +
          'This is the only time the new key is shown: deploy it before the old one stops.',
      );
      return 0;
    }
    case 'end-grace': {
      const ref = needName();
      if (!values.yes)
        throw usageError('Ending the grace period stops the old key at once: add --yes to confirm.');
      const result = await (await open()).endGrace({ key: ref, actor, acknowledged: true });
      if (result.status !== 'ended') throw new AppError('INTERNAL', 'end-grace was not applied');
      print(
        result,
        `Ended the grace period of "${result.key.name}": ${result.ended.map((s) => s.display).join(', ')} stopped working.`,
      );
      return 0;
    }
    case 'policy': {
      const ref = needName();
      const text = values['rotate-every'];
      const leakText = values['on-leak'];
      if (text === undefined && leakText === undefined) {
        throw usageError(
          '"keys policy" needs --rotate-every 90d (1d … 730d) or none, and/or --on-leak notify|rotate-1h|rotate-now.',
        );
      }
      const days = text === undefined ? undefined : rotateEveryDays(text);
      const onLeak = leakText === undefined ? undefined : onLeakOf(leakText);
      const services = await open();
      const lines: string[] = [];
      let json: Record<string, unknown> = {};
      if (days !== undefined) {
        const result = await services.setRotationPolicy({ key: ref, rotateEveryDays: days, actor });
        if (result.status === 'duplicate')
          throw new AppError('INTERNAL', 'the policy change was not applied');
        const { key } = result;
        json = {
          name: key.name,
          status: result.status,
          before: result.before,
          rotateEvery: key.rotateEvery,
          rotationDueAt: key.rotationDueAt,
          overdue: key.overdue,
        };
        lines.push(
          `${result.status === 'changed' ? 'Changed' : 'Kept'} the rotation policy of "${key.name}": ${formatPolicy(key, services.clock.now())}.`,
        );
      }
      if (onLeak !== undefined) {
        const result = await services.editKey({ key: ref, actor, changes: { onLeak } });
        const { key } = result;
        const changed = result.status === 'edited';
        json = {
          ...json,
          name: key.name,
          onLeak: key.onLeak,
          onLeakStatus: changed ? 'changed' : 'unchanged',
          ...(days === undefined
            ? { rotateEvery: key.rotateEvery, rotationDueAt: key.rotationDueAt, overdue: key.overdue }
            : {}),
        };
        lines.push(
          `${changed ? 'Changed' : 'Kept'} what rekey does when a key of "${key.name}" is reported leaked: ${key.onLeak}.`,
        );
      }
      print(json, lines.join('\n'));
      return 0;
    }
    case 'audit': {
      const ref = needName();
      const audit = await (await open()).keyAudit(ref);
      print(
        audit,
        [`History of "${audit.keyName}" (oldest first):`, ...audit.events.map(formatAudit)].join('\n'),
      );
      return 0;
    }
    case 'usage': {
      const ref = needName();
      const hours = values.hours === undefined ? undefined : Number(values.hours);
      if (hours !== undefined && !(/^\d+$/.test(values.hours!) && hours >= 1 && hours <= MAX_USAGE_HOURS)) {
        throw usageError(`--hours must be a whole number from 1 to ${MAX_USAGE_HOURS}.`);
      }
      const usage = await (await open()).keyUsage({ key: ref, hours, clients: values.clients });
      print(usage, formatKeyUsage(usage));
      return 0;
    }
    default:
      throw usageError(`Unknown command "keys ${command}".`);
  }
}

/** `--rotate-every`: `90d` or `none`; anything else is refused with the accepted range, changing nothing. */
function rotateEveryDays(text: string): number | null {
  const parsed = parseRotateEvery(text);
  if (!parsed.ok) throw new AppError('INVALID_INPUT', `--rotate-every: ${parsed.message}`);
  return parsed.days;
}

/** `--on-leak`: one of the three names; anything else is refused with the list, changing nothing. */
function onLeakOf(text: string): OnLeak {
  if (!isOnLeak(text))
    throw new AppError('INVALID_INPUT', `--on-leak must be ${ON_LEAK_TEXT}, not "${text}".`);
  return text;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * Prints an error once, as text or JSON, and picks the exit code. A retryable error (the database
 * unreachable, the key busy) says so: nothing was changed and the same command can simply run again.
 */
export function reportCliError(error: unknown, json: boolean, io: CliIo): number {
  const code = isAppError(error)
    ? error.code
    : (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
      ? 'INVALID_INPUT'
      : 'INTERNAL';
  const retryable = isAppError(error) && error.retryable;
  const message = isAppError(error)
    ? error.message
    : error instanceof Error
      ? `${error.message}${code === 'INVALID_INPUT' ? `\n\n${USAGE}` : ''}`
      : String(error);
  const hint = retryable
    ? '\nNothing was changed; this is temporary: run the same command again in a moment.'
    : '';
  io.err(json ? JSON.stringify({ error: { code, message, retryable } }) : `rekey: ${message}${hint}`);
  return code === 'INVALID_INPUT' || code === 'CONFIG_INVALID' ? 2 : 1;
}
