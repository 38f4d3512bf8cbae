import { loadGatewayConfig, type ParseOptions } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { parse, UsageError } from './args.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  config: { type: 'string', help: 'gateway YAML config (see config/gateway.example.yaml)' },
  check: { type: 'boolean', help: 'validate the config (secrets need not be set), print a summary and exit' },
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng gateway --config gateway.yaml', OPTS);
  if (!a.config) throw new UsageError('--config is required (see config/gateway.example.yaml)');
  if (a.check) return check(a.config);
  const gw = await new Gateway(loadGatewayConfig(a.config)).start();
  onShutdown(() => gw.stop());
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
