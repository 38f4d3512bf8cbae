// Getting influxd onto a fresh machine. As root on Debian/Ubuntu the stack installs Debian's `influxdb`
// package itself, so `npm ci && npm start` works there with nothing else; anywhere else it cannot
// install without asking, so it says the command for that system and stops.
import { spawn, spawnSync } from 'node:child_process';
import { log } from '../../protocol/log.ts';
import { CliError } from '../args.ts';

/** What decides how influxd can be had. */
export interface Host {
  /** process.getuid(); undefined on Windows. */
  uid: number | undefined;
  platform: NodeJS.Platform;
  hasAptGet: boolean;
}

export type InstallPlan =
  /** Run these commands ourselves. */
  | { kind: 'apt'; steps: string[][] }
  /** Tell the user this command (or, with no command, where to get InfluxDB 1.x). */
  | { kind: 'hint'; command?: string };

export const APT_STEPS: string[][] = [
  ['apt-get', 'update'],
  ['apt-get', 'install', '-y', '--no-install-recommends', 'influxdb'],
];

const INSTALL_DOCS = 'https://docs.influxdata.com/influxdb/v1/introduction/install/';

/** The decision alone, a pure function of the host, so each branch can be tested without installing anything. */
export function installPlan(h: Host): InstallPlan {
  if (h.platform === 'darwin') return { kind: 'hint', command: 'brew install influxdb@1' };
  if (h.platform === 'linux' && h.hasAptGet) {
    return h.uid === 0 ? { kind: 'apt', steps: APT_STEPS } : { kind: 'hint', command: 'sudo apt-get install influxdb' };
  }
  return { kind: 'hint' };
}

/** influxd is not there and we will not install it: the message says how to get it. */
export class InfluxdMissing extends CliError {
  constructor(plan: InstallPlan = installPlan(currentHost()), why = 'influxd (InfluxDB 1.x) was not found.') {
    const how =
      plan.kind === 'hint' && plan.command
        ? `Install it with:\n  ${plan.command}\nthen start again`
        : plan.kind === 'apt'
          ? `Install it with:\n  ${APT_STEPS.map((s) => s.join(' ')).join(' && ')}\nthen start again`
          : `Install InfluxDB 1.x so that influxd is on the PATH (${INSTALL_DOCS}), then start again`;
    super(`${why} ${how}, or point INFLUX_URL (--influx-url) at a running InfluxDB.`);
  }
}

/** The path of a command on the PATH, or null. */
export function commandPath(name: string): string | null {
  const r = spawnSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export function currentHost(): Host {
  return { uid: process.getuid?.(), platform: process.platform, hasAptGet: commandPath('apt-get') !== null };
}

/**
 * Makes influxd available or throws InfluxdMissing. `say` gets the one line the user sees (the package
 * and its version); apt's own output goes to the log.
 */
export async function obtainInfluxd(say: (line: string) => void, host: Host = currentHost()): Promise<void> {
  const plan = installPlan(host);
  if (plan.kind === 'hint') throw new InfluxdMissing(plan);
  const [update, install] = plan.steps as [string[], string[]];
  // A failed update (one source offline) may still leave a list that has the package.
  await runLogged(update).catch((e: Error) =>
    log('warn', 'apt-get update failed; trying the lists there are', { error: e.message }),
  );
  const version = candidateVersion();
  if (!version)
    throw new InfluxdMissing(
      { kind: 'hint' },
      "influxd (InfluxDB 1.x) was not found, and this system's apt sources have no influxdb package.",
    );
  say(
    `  influxd      not found: installing the Debian package influxdb ${version} (apt-get install influxdb; output in the log)`,
  );
  await runLogged(install);
  if (!commandPath('influxd'))
    throw new InfluxdMissing({ kind: 'hint' }, 'apt-get installed influxdb but influxd is still not on the PATH.');
}

/** The version `apt-get install influxdb` would install (Candidate of `apt-cache policy`), or null. */
export function candidateVersion(): string | null {
  const r = spawnSync('apt-cache', ['policy', 'influxdb'], { encoding: 'utf8' });
  return parseCandidate(r.stdout ?? '');
}

export function parseCandidate(policy: string): string | null {
  const m = /^\s*Candidate:\s*(\S+)/m.exec(policy);
  return m && m[1] !== '(none)' ? m[1]! : null;
}

/** Runs a command with its output line by line in the log; a failure carries its last lines. */
function runLogged(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const tail: string[] = [];
    const onLine = (line: string) => {
      if (!line.trim()) return;
      log('info', argv.slice(0, 2).join(' '), { out: line });
      tail.push(line);
      if (tail.length > 5) tail.shift();
    };
    let rest = '';
    const onData = (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      lines.forEach(onLine);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (e) => reject(new CliError(`cannot run ${argv[0]}: ${e.message}`)));
    child.once('close', (code) => {
      onLine(rest);
      if (code === 0) resolve();
      else
        reject(
          new CliError(
            `\`${argv.join(' ')}\` failed (exit ${code}):\n  ${tail.join('\n  ')}\nInstall InfluxDB 1.x yourself, or point INFLUX_URL (--influx-url) at a running InfluxDB.`,
          ),
        );
    });
  });
}
