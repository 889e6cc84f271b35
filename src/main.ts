import { startRekey } from './app.ts';
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
  logger.info(
    { port: rekey.port, database: rekey.database.driver, slackMode: config.slackMode },
    `rekey is listening on ${rekey.url}`,
  );

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
