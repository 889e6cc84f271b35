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

  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Graceful shutdown has 10 s; after that, leave anyway rather than hang a deploy.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    rekey.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

await main();
