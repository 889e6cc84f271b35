import { isAppError } from '../errors.ts';
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

/**
 * One sentence for the person in Slack: what happened and what to do. Our own errors carry their
 * userMessage; anything else is an infrastructure failure, described without internals.
 */
export function userMessageFor(error: unknown, context: { step: 'open' | 'next' | 'rotate' }): string {
  if (isAppError(error)) return error.userMessage;
  if (isSlackApiError(error)) {
    const { code } = describeSlackError(error);
    if (code === 'expired_trigger_id' || code === 'trigger_expired' || code === 'invalid_trigger_id') {
      return `The rotation dialog took too long to open. ${NOTHING_CHANGED} Please run \`/rotate-key\` again.`;
    }
    return `Slack did not accept rekey’s request (${code}). ${NOTHING_CHANGED} Please try \`/rotate-key\` again in a minute; if it keeps failing, tell your rekey admin.`;
  }
  const retry =
    context.step === 'next'
      ? 'Please press Next again in a minute'
      : 'Please run `/rotate-key` again in a minute';
  return `rekey could not reach its database. ${NOTHING_CHANGED} ${retry}; if it keeps failing, tell your rekey admin.`;
}
