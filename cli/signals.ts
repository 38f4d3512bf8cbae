/** Runs `stop` on the first SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${sig}: shutting down (again to force)\n`);
    stop().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`${(e as Error).stack}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
