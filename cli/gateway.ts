import { loadGatewayConfig, type ParseOptions } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { describeTemplates, templatesWithDir } from '../gateway/templates.ts';
import { Node } from '../protocol/config.ts';
import { parse, UsageError } from './args.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  config: { type: 'string', help: 'gateway YAML config (see config/gateway.example.yaml)' },
  check: { type: 'boolean', help: 'validate the config (secrets need not be set), print a summary and exit' },
  'templates-dir': {
    type: 'string',
    help: 'with `templates`: also list (and validate) the template files (*.yaml) of this directory',
  },
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
  const gw = await new Gateway(loadGatewayConfig(a.config)).start();
  onShutdown(() => gw.stop());
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
