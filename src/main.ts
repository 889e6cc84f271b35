import { loadConfig } from './config.ts';
import { isAppError } from './errors.ts';
import { createLogger } from './logger.ts';

/** `npm start`: parse the environment, start everything, stop cleanly on SIGTERM/SIGINT. */
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(isAppError(error) ? error.message : error);
    process.exit(2);
  }
  const logger = createLogger(config.LOG_LEVEL);
  // Loaded once the configuration is accepted: a refused one is reported without loading the app.
  const { startRekey } = await import('./app.ts');
  const { seedDemoKeys } = await import('./local/seed-demo-keys.ts');
  let rekey: Awaited<ReturnType<typeof startRekey>>;
  try {
    rekey = await startRekey(config, { logger });
  } catch (error) {
    if (isAppError(error)) {
      logger.fatal({ code: error.code }, error.message);
      console.error(error.message);
    } else {
      logger.fatal({ err: error }, 'rekey failed to start');
    }
    process.exit(1);
  }
  if (rekey.localMode) {
    // First start: demo keys, printed once to the terminal (like `rekey keys create`), never logged.
    await seedDemoKeys(rekey.services, (text) => process.stdout.write(`${text}\n`));
  }
  logger.info(
    {
      port: rekey.port,
      database: rekey.database.driver,
      slackMode: config.slackMode,
      role: config.REKEY_ROLE,
    },
    `rekey is listening on ${rekey.url}`,
  );
  if (rekey.localModeRefused) {
    logger.warn(rekey.localModeRefused);
    process.stderr.write(`\n${rekey.localModeRefused}\n\n`);
  } else if (config.slackMode === 'local' && !rekey.localMode && config.REKEY_ROLE === 'all') {
    logger.warn(
      'no Slack credentials: serving the verify API only (the local Slack simulation runs only on the embedded database; set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to connect to Slack)',
    );
  }
  if (rekey.localMode) {
    const api = config.REKEY_API_TOKENS.length ? '' : ' (set REKEY_API_TOKENS to call the verify API)';
    process.stdout.write(
      `\nLocal mode: open ${rekey.url}/ to try rekey in a simulated Slack workspace${api}.\n\n`,
    );
  }

  // A signal to the process group of `npm start` — Ctrl-C in a terminal, systemd's default
  // `KillMode=control-group` — reaches node twice: once directly, once passed on by npm. So a repeated
  // SIGTERM or SIGINT never cuts the shutdown short; only a third SIGINT (a second Ctrl-C under npm, a
  // third one straight to node) leaves at once, for someone who would rather not wait.
  let interrupts = 0;
  let stopping = false;
  /** Stops gracefully once, however often it is asked; exits `code` when done. */
  const shutDown = (fields: object, code: number) => {
    stopping = true;
    logger.info(fields, 'shutting down');
    // Graceful shutdown has 10 s; after that, leave anyway rather than hang a deploy.
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s: exiting without finishing it');
      process.exit(1);
    }, 10_000);
    force.unref();
    rekey.close().then(
      () => process.exit(code),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const stop = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && ++interrupts >= 3) {
      logger.warn(
        { signal },
        'third Ctrl-C: exiting now without finishing the shutdown (uses counted since the last flush are lost)',
      );
      process.exit(130);
    }
    if (stopping) {
      logger.info(
        { signal },
        signal === 'SIGINT'
          ? 'already shutting down (press Ctrl-C again to exit at once)'
          : 'already shutting down',
      );
      return;
    }
    shutDown({ signal }, 0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // Last resort only: every request ends in an answer of its own, 500 at worst (src/http/server.ts).
  // A promise that fails with no one to hear it is a bug to log, not a reason to fail every gateway;
  // an exception that reached the top may have left anything half-done, so rekey stops cleanly (in-flight
  // requests answered, counted uses written) and its supervisor starts it again.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'a promise failed with nothing to handle it (a bug); rekey carries on');
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'an uncaught exception (a bug): stopping cleanly');
    if (!stopping) shutDown({ reason: 'uncaught exception' }, 1);
  });
}

await main();
