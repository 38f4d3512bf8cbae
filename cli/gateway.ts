import { loadGatewayConfig } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { parse, UsageError } from './args.ts';
import { onShutdown } from './signals.ts';

const OPTS = {
  config: { type: 'string', help: 'gateway YAML config (see config/gateway.example.yaml)' },
  check: { type: 'boolean', help: 'validate the config, print a summary and exit' },
} as const;

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv, 'Usage: qingcheng gateway --config gateway.yaml', OPTS);
  if (!a.config) throw new UsageError('--config is required (see config/gateway.example.yaml)');
  const cfg = loadGatewayConfig(a.config);
  if (a.check) {
    process.stdout.write(`${a.config}: ok — gateway ${cfg.id}, ${cfg.links.length} link(s), ${cfg.devices.length} device(s), outbox ${cfg.outbox.path}\n`);
    return;
  }
  const gw = await new Gateway(cfg).start();
  onShutdown(() => gw.stop());
}
