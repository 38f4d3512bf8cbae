import { loadGatewayConfig, type ParseOptions } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { describeTemplates, templatesWithDir } from '../gateway/templates.ts';
import { Node } from '../protocol/config.ts';
import { log } from '../protocol/log.ts';
import { Metrics, serveMetrics } from '../protocol/metrics.ts';
import { int, parse, UsageError } from './args.ts';
import { READY_FILE_OPT, writeReadyFile } from './ready-file.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  config: { type: 'string', help: 'gateway YAML config (see config/gateway.example.yaml)' },
  check: { type: 'boolean', help: 'validate the config (secrets need not be set), print a summary and exit' },
  'templates-dir': {
    type: 'string',
    help: 'with `templates`: also list (and validate) the template files (*.yaml) of this directory',
  },
  'metrics-port': {
    type: 'string',
    help: 'serve Prometheus metrics at GET /metrics on this port (0 = any free port; unset = none)',
  },
  'metrics-host': { type: 'string', default: '127.0.0.1', help: 'address the metrics port listens on' },
  ...READY_FILE_OPT,
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(
    argv,
    'Usage: qingcheng gateway --config gateway.yaml\n       qingcheng gateway templates [--templates-dir DIR]   (the device templates: source, map, UNVERIFIED facts)',
    OPTS,
  );
  if (a._[0] === 'templates') return listTemplates(a['templates-dir']);
  if (a._.length) throw new UsageError(`unexpected argument "${a._[0]}"; the only subcommand is \`templates\``);
  if (!a.config) throw new UsageError('--config is required (see config/gateway.example.yaml)');
  if (a.check) return check(a.config);
  const metricsPort = a['metrics-port'] !== undefined ? int(a['metrics-port'], 'metrics-port') : undefined;
  const gw = await new Gateway(loadGatewayConfig(a.config)).start();
  const served =
    metricsPort === undefined
      ? undefined
      : await serveMetrics(new Metrics().addGateway(gw), metricsPort, a['metrics-host']);
  if (served) log('info', 'metrics served', { url: `http://${a['metrics-host']}:${served.port}/metrics` });
  // The http and hj212 links listen once start() resolves: their ports are known here.
  const unready = writeReadyFile(a['ready-file'], { metrics: served?.port }, gw.listening());
  process.on('SIGHUP', () => gw.reloadTls());
  onShutdown(async () => {
    unready();
    await served?.close();
    await gw.stop();
  });
}

/** The device template library, and the user's directory when given. */
function listTemplates(dir: string | undefined): void {
  process.stdout.write(describeTemplates(templatesWithDir(new Node('(command line)', '--templates-dir', dir))));
}

/** Validates without the secrets, which belong on the machine that runs the gateway, and names the ones it will need. */
function check(file: string): void {
  const unsetSecrets: NonNullable<ParseOptions['unsetSecrets']> = [];
  const cfg = loadGatewayConfig(file, { unsetSecrets });
  process.stdout.write(
    `${file}: valid — gateway ${cfg.id}, ${cfg.links.length} link(s), ${cfg.devices.length} device(s), outbox ${cfg.outbox.path}\n`,
  );
  for (const s of unsetSecrets) process.stdout.write(`  to run it, set ${s.env} (${s.key})\n`);
}
