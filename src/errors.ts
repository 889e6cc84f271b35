export type ErrorCode =
  | 'INVALID_INPUT'
  | 'KEY_NOT_FOUND'
  | 'KEY_DELETED'
  | 'KEY_NAME_TAKEN'
  | 'FORBIDDEN'
  | 'ACK_REQUIRED'
  | 'NOT_IN_GRACE'
  | 'KEY_CHANGED'
  | 'KEY_BUSY'
  | 'CANARY_KEY'
  | 'DATABASE_UNAVAILABLE'
  | 'DATA_DIR_LOCKED'
  | 'CONFIG_INVALID'
  | 'INTERNAL';

/**
 * The one error family. `message` is for logs and operators; `userMessage` is safe to show a person and
 * says what to do next. Neither ever contains a key string.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly userMessage: string;
  readonly retryable: boolean;
  /**
   * Bad input, per field of the form it came from (`name`, `products`…): a surface that shows a form
   * puts each message next to its input; the others show `userMessage`.
   */
  readonly fields: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      userMessage?: string;
      retryable?: boolean;
      cause?: unknown;
      fields?: Record<string, string>;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.userMessage = options.userMessage ?? message;
    this.retryable = options.retryable ?? false;
    this.fields = options.fields ?? {};
  }
}

export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}
