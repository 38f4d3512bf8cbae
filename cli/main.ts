// The `qingcheng` command.
import { ConfigError } from '../protocol/config.ts';
import { CliError, UsageError } from './args.ts';

const COMMANDS: Record<string, { help: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  stack: {
    help: 'run the whole network on this machine: influxd, broker, ingest, simulators, gateway',
    load: () => import('./stack.ts'),
  },
  broker: {
    help: 'run the MQTT broker (Aedes) with users, ACL and a health endpoint; `broker user add` manages users',
    load: () => import('./broker.ts'),
  },
  gateway: {
    help: 'run a gateway: poll Modbus devices, take HJ 212 and pushed records, buffer on disk, publish over MQTT',
    load: () => import('./gateway.ts'),
  },
  ingest: { help: 'run an ingest worker: MQTT → InfluxDB with acknowledgements', load: () => import('./ingest.ts') },
  simulate: {
    help: 'run simulated instruments: Modbus stations and stacks, HJ 212 loggers, remote-sensing sites',
    load: () => import('./simulate.ts'),
  },
  console: {
    help: 'serve the operator web console (MQTT over WebSocket to the broker)',
    load: () => import('./console.ts'),
  },
  chaos: {
    help: 'run the network as processes under random faults, then audit every record in InfluxDB',
    load: () => import('./chaos.ts'),
  },
  load: {
    help: "simulate a city's gateways and devices over MQTT and report what was sent, acknowledged and stored",
    load: () => import('./load.ts'),
  },
  watch: {
    help: 'watch the network as an operator: gateways, open alarms, air quality, alarm events',
    load: () => import('./watch.ts'),
  },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(10)} ${c.help}`);
  return `qingcheng — environmental monitoring data from instruments to InfluxDB\n\nUsage: qingcheng <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun \`qingcheng <command> --help\` for the options of each.`;
}

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
  process.stdout.write(usage() + '\n');
  process.exit(cmd ? 0 : 2);
}
const entry = COMMANDS[cmd];
if (!entry) {
  process.stderr.write(`qingcheng: unknown command "${cmd}"\n\n${usage()}\n`);
  process.exit(2);
}
try {
  await (await entry.load()).run(rest);
} catch (e) {
  // Mistakes a user can fix get one line, not a stack trace.
  if (e instanceof CliError) {
    process.stderr.write(`qingcheng ${cmd}: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  if (e instanceof UsageError || e instanceof ConfigError || (e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    process.stderr.write(`qingcheng ${cmd}: ${(e as Error).message}\n`);
    process.exit(2);
  }
  throw e;
}
