import { AppError, isAppError } from '../errors.ts';

/**
 * SQLSTATEs that mean "the server is not there for us", not "the query was wrong": connection
 * exceptions (class 08), the server shutting down, crashing, starting up or dropping the database
 * (57P01–57P05), and a server with no connection slot left (53300). Trying again later can work.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '53300']);

/**
 * What the drivers and the network report when no answer came: the socket was refused, reset or timed
 * out, the host is unknown, or postgres.js gave up on the connection (its own codes).
 */
const UNAVAILABLE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

const NOTHING_CHANGED = 'Nothing was changed.';

interface Found {
  code?: string;
  message: string;
}

/** Drizzle's "Failed query" message lists the query's parameters; logs get the query at most. */
function withoutParams(message: string): string {
  const cut = message.indexOf('\nparams:');
  return cut < 0 ? message : message.slice(0, cut);
}

/** The driver's own error under Drizzle's "Failed query" wrapper (its `cause`), or the error itself. */
function driverError(error: unknown): Found {
  let current: unknown = error;
  let innermost: Found = { message: withoutParams(error instanceof Error ? error.message : String(error)) };
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; message?: unknown; cause?: unknown };
    const message = typeof e.message === 'string' ? withoutParams(e.message) : innermost.message;
    if (typeof e.code === 'string') return { code: e.code, message };
    innermost = { message };
    current = e.cause;
  }
  return innermost;
}

/**
 * True when the error (or what it wraps: Drizzle's `cause`, an AppError's `cause`) says the connection
 * itself is gone — as opposed to a query the server refused on a connection that still works.
 */
export function isConnectionGone(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    // An AppError's code is rekey's own; the driver's verdict is in what it wraps.
    if (!isAppError(current) && typeof code === 'string') return isUnavailable(code);
    current = cause;
  }
  return false;
}

function isUnavailable(code: string | undefined): boolean {
  if (code === undefined) return false;
  if (UNAVAILABLE_CONNECTION_CODES.has(code)) return true;
  return SQLSTATE.test(code) && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code));
}

/**
 * The one translation of a database driver's error (postgres.js or PGlite, wrapped by Drizzle or not)
 * into rekey's errors: DATABASE_UNAVAILABLE (retryable) when the server could not be reached or went
 * away, INTERNAL with the original as `cause` for anything else. Errors that already are AppErrors
 * (a key not found, a refusal) pass through unchanged. Messages carry the driver's code and message,
 * never the query's parameters (Drizzle puts them in its own message).
 */
export function toDatabaseError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const { code, message } = driverError(error);
  if (isUnavailable(code)) {
    return new AppError('DATABASE_UNAVAILABLE', `The database did not answer (${code}): ${message}`, {
      userMessage: `rekey could not reach its database. ${NOTHING_CHANGED}`,
      retryable: true,
      cause: error,
    });
  }
  const label = code && SQLSTATE.test(code) ? `SQLSTATE ${code}` : (code ?? 'no code');
  return new AppError('INTERNAL', `Unexpected database error (${label}): ${message}`, {
    userMessage: `rekey hit an unexpected error. ${NOTHING_CHANGED} Please tell your rekey admin; the details are in rekey’s log.`,
    cause: error,
  });
}

/** Runs database work (reads, or a whole transaction) and translates whatever the driver throws. */
export async function withDatabaseErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toDatabaseError(error);
  }
}
