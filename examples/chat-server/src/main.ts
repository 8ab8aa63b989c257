import { ConfigError, loadConfig } from './config.ts';
import { startServer } from './server.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await startServer(config);
  process.stdout.write(`Switchboard chat server (skeleton): ${server.url}\nStop with Ctrl-C.\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping after in-flight requests\n`);
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`invalid configuration: ${error.message}\n`);
  } else if (isAddressInUse(error)) {
    process.stderr.write(`cannot listen: ${error.message} (set PORT to a free port)\n`);
  } else {
    process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});

function isAddressInUse(error: unknown): error is Error {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}
