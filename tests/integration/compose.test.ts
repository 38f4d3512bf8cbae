// docker-compose.yml without a Docker engine: its structure, every qingcheng command option against the
// role's `--help`, every bind-mounted path and config file against the repository, and Grafana's
// provisioning against the services it points at.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/qingcheng.js');

interface Service {
  image?: string;
  build?: string;
  entrypoint?: string[];
  command?: string[] | string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const services = compose.services;

const helpCache = new Map<string, string>();
/** The options a `qingcheng <role> --help` names (its usage lines included, for `broker user add`). */
function helpOptions(role: string): Set<string> {
  let text = helpCache.get(role);
  if (text === undefined) {
    text = execFileSync(process.execPath, [BIN, role, '--help'], { encoding: 'utf8', timeout: 30_000 });
    helpCache.set(role, text);
  }
  return new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? []);
}

/** Each qingcheng invocation of a service: the role, its arguments. */
function invocations(name: string, s: Service): { role: string; args: string[] }[] {
  if (s.image !== 'qingcheng') return [];
  const cmd = s.command;
  if (s.entrypoint?.join(' ') === 'sh -c') {
    expect(typeof cmd === 'string' || cmd?.length === 1, `${name}: sh -c takes one script`).toBe(true);
    const script = Array.isArray(cmd) ? cmd[0]! : cmd!;
    return script
      .split('&&')
      .map((part) => part.trim().replace(/^exec\s+/, ''))
      .map((part) => {
        const words = part.split(/\s+/);
        expect(words.slice(0, 2), `${name}: each step runs node bin/qingcheng.js`).toEqual([
          'node',
          'bin/qingcheng.js',
        ]);
        return { role: words[2]!, args: words.slice(3) };
      });
  }
  expect(s.entrypoint, `${name}: the image's entrypoint (node bin/qingcheng.js)`).toBeUndefined();
  expect(Array.isArray(cmd), `${name}: command as a list`).toBe(true);
  const [role, ...args] = cmd as string[];
  return [{ role: role!, args }];
}

/** The value following an option in an argument list. */
const optionValue = (args: string[], option: string): string | undefined => {
  const i = args.indexOf(option);
  return i < 0 ? undefined : args[i + 1];
};

describe('docker-compose.yml', () => {
  it('has the network, the console and Grafana as services, with every named volume declared', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['broker', 'console', 'gateway', 'grafana', 'influxdb', 'ingest', 'simulators'].sort(),
    );
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, `${name}: an image`).toBeTruthy();
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/'))
          expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${source}`).toContain(source);
      }
      for (const dep of Object.keys(s.depends_on ?? {}))
        expect(Object.keys(services), `${name} depends on`).toContain(dep);
    }
  });

  it("runs every qingcheng role with options its --help lists, and files the image's checkout holds", () => {
    const seen: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const { role, args } of invocations(name, s)) {
        const sub = role === 'broker' && args[0] === 'user' ? 'broker' : role;
        const known = helpOptions(sub);
        expect(known.size, `qingcheng ${sub} --help lists options`).toBeGreaterThan(3);
        for (const a of args.filter((x) => x.startsWith('--')))
          expect(known.has(a), `${name}: qingcheng ${role} ${a} is not in its --help`).toBe(true);
        // Paths the image holds because it copies the checkout (COPY . .).
        const config = optionValue(args, '--config');
        if (config) expect(existsSync(join(ROOT, config)), `${name}: ${config}`).toBe(true);
        seen.push(`${name}:${role}`);
      }
    }
    expect(seen).toEqual(
      expect.arrayContaining([
        'broker:broker',
        'ingest:ingest',
        'simulators:simulate',
        'gateway:gateway',
        'console:console',
      ]),
    );
  });

  it('mounts only paths that exist in the repository', () => {
    const binds = Object.entries(services).flatMap(([name, s]) =>
      (s.volumes ?? []).filter((v) => v.startsWith('.')).map((v) => ({ name, source: v.split(':')[0]! })),
    );
    expect(binds.length).toBeGreaterThan(0);
    for (const b of binds) expect(existsSync(join(ROOT, b.source)), `${b.name}: ${b.source}`).toBe(true);
  });

  it("connects the console to the broker's WebSocket port and to InfluxDB", () => {
    const broker = invocations('broker', services.broker!).at(-1)!;
    const wsPort = optionValue(broker.args, '--ws-port');
    expect(wsPort).toMatch(/^\d+$/);
    expect(services.broker!.ports).toContain(`${wsPort}:${wsPort}`);
    const [consoleRun] = invocations('console', services.console!);
    expect(optionValue(consoleRun!.args, '--mqtt')).toBe(`ws://broker:${wsPort}/mqtt`);
    expect(optionValue(consoleRun!.args, '--ws')).toMatch(new RegExp(`:${wsPort}/mqtt\\}?$`));
    expect(optionValue(consoleRun!.args, '--influx-url')).toBe('http://influxdb:8086');
    expect(optionValue(consoleRun!.args, '--host')).toBe('0.0.0.0');
    const port = optionValue(consoleRun!.args, '--port');
    expect(services.console!.ports).toContain(`${port}:${port}`);
  });

  it('binds 0.0.0.0 explicitly in every container others connect to (the default is 127.0.0.1)', () => {
    // A service is reached when it publishes ports or another service names it as a host.
    const text =
      readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8') +
      readFileSync(join(ROOT, 'config/gateway.compose.yaml'), 'utf8');
    const reached = Object.entries(services).filter(
      ([name, s]) => s.image === 'qingcheng' && (s.ports?.length || new RegExp(`(//|host: )${name}\\b`).test(text)),
    );
    expect(reached.map(([name]) => name).sort()).toEqual(['broker', 'console', 'simulators']);
    for (const [name, s] of reached) {
      const run = invocations(name, s).at(-1)!;
      expect(optionValue(run.args, '--host'), `${name}: --host`).toBe('0.0.0.0');
    }
  });

  it("provisions Grafana's datasource at the influxdb service and its dashboards where they are mounted", () => {
    const g = services.grafana!;
    expect(g.image).toMatch(/^grafana\/grafana-oss:/);
    const mountOf = (source: string) => g.volumes!.map((v) => v.split(':')).find(([src]) => src === source)?.[1];
    expect(mountOf('./grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const dashboardsAt = mountOf('./grafana/dashboards');

    const ds = parse(readFileSync(join(ROOT, 'grafana/provisioning/datasources/influxdb.yaml'), 'utf8')) as {
      datasources: { uid: string; type: string; url: string; database: string; jsonData: { dbName: string } }[];
    };
    const [influx] = ds.datasources;
    expect(influx).toMatchObject({ type: 'influxdb', database: 'qingcheng', jsonData: { dbName: 'qingcheng' } });
    const url = new URL(influx!.url);
    expect(Object.keys(services)).toContain(url.hostname);
    expect(services[url.hostname]!.environment).toMatchObject({ INFLUXDB_DB: 'qingcheng' });
    expect(services[url.hostname]!.ports).toContain(`${url.port}:${url.port}`);
    expect(services.ingest!.command).toEqual(expect.arrayContaining(['--influx-url', influx!.url]));

    const dir = join(ROOT, 'grafana/provisioning/dashboards');
    const providers = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap(
        (f) => (parse(readFileSync(join(dir, f), 'utf8')) as { providers: { options: { path: string } }[] }).providers,
      );
    expect(providers.map((p) => p.options.path)).toEqual([dashboardsAt]);

    // Every panel's datasource is the provisioned one; every dashboard has its own uid.
    const files = readdirSync(join(ROOT, 'grafana/dashboards')).filter((f) => f.endsWith('.json'));
    const uids = new Set<string>();
    for (const f of files) {
      const d = JSON.parse(readFileSync(join(ROOT, 'grafana/dashboards', f), 'utf8')) as {
        uid: string;
        panels: { datasource?: { uid: string }; targets?: { datasource: { uid: string } }[] }[];
      };
      uids.add(d.uid);
      for (const p of d.panels) {
        if (p.datasource) expect(p.datasource.uid, f).toBe(influx!.uid);
        for (const t of p.targets ?? []) expect(t.datasource.uid, f).toBe(influx!.uid);
      }
    }
    expect(uids.size).toBe(files.length);
  });
});
