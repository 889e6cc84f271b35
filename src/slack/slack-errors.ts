import { isAppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

/** What a Slack Web API failure was, in fields safe to log (never the request, which may hold a key). */
export function describeSlackError(error: unknown): { method?: string; code: string; status?: number } {
  const e = error as { code?: string; data?: { error?: string }; statusCode?: number; message?: string };
  if (e?.code === 'slack_webapi_platform_error') return { code: e.data?.error ?? 'unknown_error' };
  if (e?.code === 'slack_webapi_http_error')
    return { code: `http_${e.statusCode ?? 'error'}`, status: e.statusCode };
  if (e?.code === 'slack_webapi_rate_limited_error') return { code: 'ratelimited', status: 429 };
  if (e?.code === 'slack_webapi_request_error') return { code: 'request_failed' };
  return { code: 'unknown_error' };
}

/** Counts a failed Web API call and returns its loggable description. */
export function recordSlackError(deps: { metrics: Metrics }, method: string, error: unknown) {
  const described = describeSlackError(error);
  deps.metrics.slackApiErrors.inc({ method, error: described.code });
  return { method, ...described };
}

export function isSlackApiError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('slack_webapi_');
}

const NOTHING_CHANGED = 'Nothing was changed.';

/** Where the person was when it failed: each place has its own way to try again. */
export type SlackStep = 'open' | 'next' | 'rotate' | 'button' | 'submit';

const TRY_AGAIN: Record<SlackStep, string> = {
  open: 'Please run `/rotate-key` again in a minute',
  next: 'Please press Next again in a minute',
  rotate: 'Please run `/rotate-key` again in a minute',
  button: 'Please press the button again in a minute',
  submit: 'Please submit the dialog again in a minute',
};

/**
 * The one sentence for the person in Slack: what happened and what to do. Our own errors carry their
 * userMessage, and a retryable one (the database unreachable, the key busy) says how to try again from
 * where they are; Slack's refusals are named by their code; anything else was unexpected.
 */
export function userMessageFor(error: unknown, step: SlackStep): string {
  const retry = `${TRY_AGAIN[step]}; if it keeps failing, tell your rekey admin.`;
  if (isAppError(error)) return error.retryable ? `${error.userMessage} ${retry}` : error.userMessage;
  if (isSlackApiError(error)) {
    const { code } = describeSlackError(error);
    if (code === 'expired_trigger_id' || code === 'trigger_expired' || code === 'invalid_trigger_id') {
      return `The rotation dialog took too long to open. ${NOTHING_CHANGED} Please run \`/rotate-key\` again.`;
    }
    return `Slack did not accept rekey’s request (${code}). ${NOTHING_CHANGED} ${retry}`;
  }
  return `rekey hit an unexpected error. ${NOTHING_CHANGED} Please tell your rekey admin; the details are in rekey’s log.`;
}

/**
 * Logs a failure that reached a person, once and at the level it deserves: a Slack API error is counted
 * under `method`, an unreachable database is a warning, anything unexpected an error. Refusals (our own
 * errors with a user message) are not logged: the person was told what to do.
 */
export function logFailure(
  deps: { logger: Logger; metrics: Metrics },
  error: unknown,
  context: { method: string; userId: string },
  message: string,
): void {
  if (isSlackApiError(error)) {
    deps.logger.warn({ ...recordSlackError(deps, context.method, error), userId: context.userId }, message);
  } else if (isAppError(error, 'DATABASE_UNAVAILABLE')) {
    deps.logger.warn({ err: error, userId: context.userId }, message);
  } else if (!isAppError(error) || error.code === 'INTERNAL') {
    deps.logger.error({ err: error, userId: context.userId }, message);
  }
}
