// `npm start` as a user runs it: the whole network comes up, data reaches InfluxDB, every command it
// prints works as printed, passwords survive a restart, a failed start leaves nothing behind, and Ctrl-C
// stops it cleanly.
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/pipeline.ts';
import { freePort, waitFor } from '../helpers/wait.ts';

const base = mkdtempSync(join(tmpdir(), 'qingcheng-stack-'));
const dir = join(base, 'work');
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Every port the stack opens on a free one, so tests run beside each other and beside a real `npm start`. */
const FREE_PORTS = ['--mqtt-port', '0', '--health-port', '0', '--console-port', '0'];
const SMALL = [
  '--stations',
  '1',
  '--cems',
  '0',
  '--rsd',
  '0',
  '--hj212-stations',
  '0',
  '--instruments',
  '',
  '--field',
  '0',
  '--gateways',
  '1',
];

/** `qingcheng stack` as a child process, its stdout and stderr kept apart. */
function stack(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/qingcheng.js'), 'stack', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, QINGCHENG_LOG: 'info' },
  });
  const s = {
    child,
    out: '',
    err: '',
    exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))),
  };
  child.stdout.on('data', (d: Buffer) => {
    s.out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    s.err += d.toString();
  });
  return s;
}
type Stack = ReturnType<typeof stack>;

const ready = (s: Stack) =>
  waitFor(
    `the stack to print how to query (output: ${s.out}${s.err})`,
    () => s.out.includes('Ctrl-C stops everything'),
    60_000,
  );
const operatorPassword = (s: Stack) =>
  /Operator console: \S+ +\(user "operator", password "([^"]+)"\)/.exec(s.out)![1]!;

async function stop(s: Stack): Promise<void> {
  s.child.kill('SIGINT');
  expect(await s.exited).toBe(0);
}

const ALL_KINDS = [
  'air.micro',
  'air.station',
  'fumes',
  'noise',
  'rsd',
  'stack.cems',
  'stack.nh3slip',
  'vapor',
  'voc',
  'water.outfall',
  'water.source',
  'water.surface',
];

/** The device kinds InfluxDB holds records of. */
async function kinds(influx: string): Promise<string[]> {
  const q = 'SELECT count(seq) FROM air, stack, nh3slip, fumes, vapor, voc, rsd, water, noise GROUP BY kind';
  const res = await fetch(`${influx}/query?db=qingcheng&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { results: { series?: { tags: { kind: string } }[] }[] };
  return [...new Set((body.results[0]?.series ?? []).map((x) => x.tags.kind))].sort();
}

/** A printed command line run the way a user runs it: by a shell, from the checkout. */
const sh = (line: string) => promisify(execFile)('/bin/sh', ['-c', line], { cwd: ROOT, timeout: 60_000 });

it('runs the network on the ports asked for, stores data, prints commands that work as printed, and shuts down on SIGINT', async () => {
  // Ports asked for by number: what is under test is that these exact ports are honoured.
  const [wsPort, influxPort] = [await freePort(), await freePort()];
  const s = stack([
    '--dir',
    dir,
    ...FREE_PORTS,
    '--ws-port',
    String(wsPort),
    '--influx-port',
    String(influxPort),
    '--stations',
    '6',
    '--cems',
    '2',
  ]);
  try {
    await ready(s);
    // The first gateway polls half the instruments and takes the pushers (2 remote-sensing sites, a
    // vapour-recovery station and its 2 nozzles); the last one half the instruments and the HJ 212 loggers.
    expect(s.out).toMatch(/gateways +gw-sim-01 \(11 devices\), gw-sim-02 \(15 devices\)/);
    expect(s.out).toMatch(
      /HJ 212 +10 logger\(s\) uploading to gw-sim-02 at 127\.0\.0\.1:\d+: 2 air\.station \(ST 22, every 60 s\), 1 stack\.nh3slip \(ST 31, every 30 s\), 2 fumes \(ST 31, every 60 s\), 1 voc \(ST 27, every 60 s\), 1 water\.surface \(ST 21, every 60 s\), 1 water\.source \(ST 21, every 60 s\), 1 water\.outfall \(ST 32, every 60 s\), 1 noise \(ST 23, every 60 s\)/,
    );
    expect(s.out).toMatch(
      /vapour +1 SIM-VAPOR station\(s\) \(2 nozzles\) pushing .* to http:\/\/127\.0\.0\.1:\d+\/records/,
    );
    expect(s.out).toMatch(
      /remote sensing 2 SIM-RSD site\(s\) pushing vehicle passes to http:\/\/127\.0\.0\.1:\d+\/records/,
    );
    const influx = /influxd +(http:\/\/127\.0\.0\.1:\d+)/.exec(s.out)![1]!;
    expect(influx).toBe(`http://127.0.0.1:${influxPort}`);
    expect(s.out).toMatch(new RegExp(`broker +mqtt://127\\.0\\.0\\.1:\\d+ +ws://127\\.0\\.0\\.1:${wsPort}/mqtt`));
    const consoleUrl = /Operator console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(s.out)![1]!;
    expect(await (await fetch(consoleUrl)).text()).toContain('<title>Qingcheng 青城 — operator console</title>');
    expect(await (await fetch(`${consoleUrl}config.json`)).json()).toMatchObject({
      ws: `ws://127.0.0.1:${wsPort}/mqtt`,
    });
    const count = async (q = 'SELECT count(pm25) FROM air') => {
      const res = await fetch(`${influx}/query?db=qingcheng&q=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { results: { series?: { values: [string, number][] }[] }[] };
      return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
    };
    await waitFor('records in InfluxDB', async () => (await count()) >= 12, 30_000, 250);
    // The sites push their last 10 minutes first (at 50–400 passes an hour each, some are there).
    await waitFor(
      "a national station's HJ 212 upload in InfluxDB",
      async () => (await count(`SELECT count(pm25) FROM air WHERE kind = 'air.station'`)) >= 2,
      30_000,
      250,
    );
    await waitFor(
      'a vehicle pass in InfluxDB',
      async () => (await count('SELECT count(speed) FROM rsd')) >= 1,
      30_000,
      250,
    );
    // Instruments of the device library, each read through its own register map: a noise point and two sondes.
    await waitFor(
      'noise and water readings in InfluxDB',
      async () =>
        (await count(`SELECT count(la) FROM noise WHERE dev =~ /^sonbest-sm7901b-/`)) >= 1 &&
        (await count(`SELECT count("do") FROM water WHERE dev =~ /^ysi-odo-/`)) >= 1 &&
        (await count(`SELECT count(ph) FROM water WHERE dev =~ /^insitu-aquatroll400-/`)) >= 1,
      30_000,
      250,
    );
    expect(s.out).toContain(
      '1 SONBEST-SM7901B (noise), 1 YSI-ODO (water.surface), 1 INSITU-AQUATROLL400 (water.surface)',
    );
    // One of every other device class, through its field path (each logger uploads at once on start).
    await waitFor(
      'a record of every device class in InfluxDB',
      async () => (await kinds(influx)).length === ALL_KINDS.length,
      30_000,
      250,
    );
    expect(s.out).toMatch(/sampled [\d.]+\/s \(total \d+\) +written [\d.]+\/s \(total \d+\) +outbox \d+ +errors \d+/);

    // Each command line printed, run as printed (the watch screen once, rather than until Ctrl-C).
    const commands = s.out
      .split('\n')
      .filter((l) => /^ {2}(curl|npx|node|mosquitto_sub|influx) /.test(l))
      .map((l) => l.trim());
    expect(commands.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['npx qingcheng', 'curl -sG', 'curl -sG']);
    for (const line of commands.filter((c) => c.startsWith('curl '))) {
      const { stdout } = await sh(line);
      const body = JSON.parse(stdout) as {
        results: { series?: { name: string; values: unknown[][] }[]; error?: string }[];
      };
      expect(body.results[0]!.error, line).toBeUndefined();
      expect(body.results[0]!.series?.[0]?.name, line).toBe('air');
      expect(body.results[0]!.series![0]!.values.length, line).toBeGreaterThan(0);
    }
    const watch = commands.find((c) => c.startsWith('npx qingcheng watch '))!;
    const { stdout } = await sh(`${watch} --once`);
    expect(stdout).toMatch(/qingcheng watch · connected · mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toContain('GATEWAYS (2)');
    expect(stdout).toMatch(/gw-sim-01 +online/);

    // The passwords are kept for the next start, readable by their owner only.
    expect(statSync(join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
  } finally {
    s.child.kill('SIGINT');
  }
  expect(await s.exited).toBe(0);
  expect(readFileSync(join(dir, 'stack.log'), 'utf8')).toContain('"msg":"stack stopped"');
});

it('--network hohhot runs the plan (here a fiftieth of it), says what it started, and every class reaches InfluxDB', async () => {
  const net = join(base, 'hohhot');
  const s = stack(['--dir', net, ...FREE_PORTS, '--network', 'hohhot', '--scale', '0.02', '--poll-s', '1']);
  try {
    await ready(s);
    expect(s.out).toContain(
      'network      hohhot ×0.02: 1 national air station, 1 micro-station, 7 CEMS sets at 3 enterprises, 12 catering-fume monitors, 1 ammonia-slip analyser, 3 vapour-recovery systems (12 nozzles), 2 auto-repair VOC monitors, 1 remote-sensing set, 1 river section, 1 drinking-water source, 4 noise points',
    );
    expect(s.out).toMatch(/gateways +gw-sim-01 \(\d+ devices\), .*gw-sim-08 \(\d+ devices\)/);
    expect(s.out).toMatch(
      /HJ 212 +29 logger\(s\) uploading to the gateways' hj212 links: 1 air\.station \(ST 22, every 60 s\), 7 stack\.cems \(ST 31, every 30 s\), 1 stack\.nh3slip \(ST 31, every 30 s\), 12 fumes/,
    );
    const influx = /influxd +(http:\/\/127\.0\.0\.1:\d+)/.exec(s.out)![1]!;
    // The plan has no outfalls and no Modbus CEMS (its smokestacks report over HJ 212).
    const planned = ALL_KINDS.filter((k) => k !== 'water.outfall');
    await waitFor(
      'a record of every class of the plan in InfluxDB',
      async () => (await kinds(influx)).join() === planned.join(),
      30_000,
      250,
    );
  } finally {
    s.child.kill('SIGINT');
  }
  expect(await s.exited).toBe(0);
});

it('keeps its passwords across restarts, and gives a new gateway a new one', async () => {
  const own = join(base, 'restarted');
  const credentials = () =>
    JSON.parse(readFileSync(join(own, 'credentials.json'), 'utf8')) as Record<string, { password: string }>;
  const once = stack(['--dir', own, ...FREE_PORTS, ...SMALL, '--gateways', '2', '--stations', '2']);
  try {
    await ready(once);
  } finally {
    await stop(once);
  }
  const first = credentials();
  expect(operatorPassword(once)).toBe(first.operator!.password);
  const s = stack(['--dir', own, ...FREE_PORTS, ...SMALL, '--gateways', '3', '--stations', '3']);
  try {
    await ready(s);
    expect(operatorPassword(s)).toBe(first.operator!.password);
  } finally {
    await stop(s);
  }
  const now = credentials();
  expect(statSync(join(own, 'credentials.json')).mode & 0o777).toBe(0o600);
  for (const user of ['gw-sim-01', 'gw-sim-02', 'ingest', 'operator'])
    expect(now[user]!.password).toBe(first[user]!.password);
  expect(now['gw-sim-03']!.password).toMatch(/^[\w-]{16}$/);
  expect(
    Object.values(now)
      .map((c) => c.password)
      .filter((p) => p === now['gw-sim-03']!.password),
  ).toHaveLength(1);
});

describe('a start that fails', () => {
  const holdPort = async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    return { port: (holder.address() as net.AddressInfo).port, close: () => new Promise((r) => holder.close(r)) };
  };

  it.each(['--mqtt-port', '--ws-port', '--health-port', '--console-port', '--influx-port'])(
    'on a port in use (%s) says which option to change and leaves no new directory',
    async (option) => {
      const held = await holdPort();
      const fresh = join(base, `fresh${option}`, 'work');
      try {
        const s = stack(['--dir', fresh, ...FREE_PORTS, ...SMALL, option, String(held.port)]);
        expect(await s.exited).toBe(2);
        expect(s.err).toContain(
          `qingcheng stack: port ${held.port} on 127.0.0.1 is already in use: stop what holds it, or choose another ${option} (0 picks a free one)`,
        );
        expect(s.err).not.toMatch(/\n +at /);
        expect(existsSync(join(base, `fresh${option}`))).toBe(false);
      } finally {
        await held.close();
      }
    },
  );

  it('in a directory that was there keeps what it held and removes only what it made', async () => {
    const held = await holdPort();
    const old = join(base, 'old');
    mkdirSync(old);
    writeFileSync(join(old, 'mine.txt'), "not the stack's");
    try {
      const s = stack(['--dir', old, ...FREE_PORTS, ...SMALL, '--mqtt-port', String(held.port)]);
      expect(await s.exited).toBe(2);
      expect(readdirSync(old)).toEqual(['mine.txt']);
    } finally {
      await held.close();
    }
  });

  it('after influxd and the broker are up stops them, says why in one line, and removes only what it made', async () => {
    // A gateway's outbox that cannot be opened fails the start late, with influxd, broker, console and ingest running.
    const late = join(base, 'late');
    mkdirSync(join(late, 'gw-sim-01.outbox.sqlite'), { recursive: true });
    const s = stack(['--dir', late, ...FREE_PORTS, ...SMALL]);
    expect(await s.exited).toBe(1);
    expect(s.out).toMatch(/influxd +http:\/\/127\.0\.0\.1:\d+/);
    expect(s.err).toMatch(/^qingcheng stack: could not start: .+\n$/);
    expect(readdirSync(late)).toEqual(['gw-sim-01.outbox.sqlite']);
    expect(processesNaming(late)).toEqual([]);
  });

  it('without influxd, where it cannot install it, prints the command to install it and exits 1 without a stack trace', async () => {
    const bin = join(base, 'bare-bin'); // no influxd, no apt-get, no brew
    mkdirSync(bin);
    const fresh = join(base, 'no-influxd');
    const s = stack(['--dir', fresh, ...FREE_PORTS, ...SMALL], { ...process.env, PATH: bin });
    expect(await s.exited).toBe(1);
    expect(s.err).toContain(
      'qingcheng stack: influxd (InfluxDB 1.x) was not found. Install InfluxDB 1.x so that influxd is on the PATH',
    );
    expect(s.err).toContain('or point INFLUX_URL (--influx-url) at a running InfluxDB');
    expect(s.err).not.toMatch(/\n +at /);
    expect(existsSync(fresh)).toBe(false);
  });
});

// The apt branch without touching the machine's packages: apt-get and apt-cache on the PATH are stand-ins
// whose `install` puts the real influxd beside them, as the package would.
it.skipIf(process.getuid?.() !== 0)(
  'as root on Debian, installs influxdb with apt-get, says so in one line with its version, and starts',
  async () => {
    const bin = join(base, 'apt-bin');
    mkdirSync(bin);
    const script = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    script(
      'apt-get',
      `echo "stand-in apt-get $*"\nif [ "$1" = install ]; then /bin/ln -s ${JSON.stringify(realInfluxd())} ${bin}/influxd; fi`,
    );
    script('apt-cache', 'printf "influxdb:\\n  Installed: (none)\\n  Candidate: 1.6.7~rc0-1+b13\\n"');
    const fresh = join(base, 'apt');
    const s = stack(['--dir', fresh, ...FREE_PORTS, ...SMALL], { ...process.env, PATH: bin });
    try {
      await ready(s);
      const installing = s.out.split('\n').filter((l) => l.includes('apt-get') || l.includes('not found'));
      expect(installing).toEqual([
        '  influxd      not found: installing the Debian package influxdb 1.6.7~rc0-1+b13 (apt-get install influxdb; output in the log)',
      ]);
      expect(s.out).toMatch(/influxd +http:\/\/127\.0\.0\.1:\d+/);
      expect(s.out + s.err).not.toContain('stand-in');
    } finally {
      await stop(s);
    }
    const log = readFileSync(join(fresh, 'stack.log'), 'utf8');
    const update = log.indexOf('"out":"stand-in apt-get update"');
    expect(update).toBeGreaterThan(-1);
    expect(log.indexOf('"out":"stand-in apt-get install -y --no-install-recommends influxdb"')).toBeGreaterThan(update);
  },
);

function realInfluxd(): string {
  for (const d of (process.env.PATH ?? '').split(':'))
    if (d && existsSync(join(d, 'influxd'))) return join(d, 'influxd');
  throw new Error('influxd is not on the PATH');
}

/** Command lines of the running processes that mention `path` (an influxd left behind would). */
function processesNaming(path: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(path)) out.push(cmd);
    } catch {
      /* it ended meanwhile */
    }
  }
  return out;
}
