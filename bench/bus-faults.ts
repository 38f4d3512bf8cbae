// A shared bus with one dead unit: how steadily the gateway still polls the live units on it. Five
// SIM-AQ6 units on one bus (Modbus TCP, and RTU on a socat pty pair), unit 3 silent from the start; the
// gateway polls every 1000 ms with a 500 ms timeout and backs the dead unit off. Reports, per bus, the
// live units' polls per second and how far their poll intervals stray from 1000 ms (p50, p99, max, as a
// share of the period; the goal is under 10 %), from the times the simulator served them, after the first
// cycle (the dead unit's first timeout, before the gateway knows it is dead, is reported apart).
// Prints JSON. Run: node bin/run-ts.js bench/bus-faults.ts [--seconds 30]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { gatewayConfigFor } from '../cli/simulate.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { Node } from '../protocol/config.ts';
import { setLogStream } from '../protocol/log.ts';
import { AirFleet } from '../simulators/stations.ts';
import { ptyPair } from '../tests/helpers/socat.ts';

const { values: a } = parseArgs({ options: { seconds: { type: 'string', default: '30' } } });
const SECONDS = Number(a.seconds);
const PERIOD = 1000;
const UNITS = 5;
const DEAD = 3;
setLogStream({ write: () => true }); // the dead unit's warnings are expected
const progress = (s: string) => process.stderr.write(s + '\n');

async function run(framing: 'tcp' | 'rtu-pty'): Promise<object> {
  const dir = mkdtempSync(join(tmpdir(), 'qingcheng-bus-'));
  const pty = framing === 'rtu-pty' ? await ptyPair(dir) : undefined;
  const fleet = await new AirFleet().start({
    stations: UNITS,
    unitsPerServer: UNITS,
    basePort: 0,
    ...(pty ? { serial: { device: pty.a, baudRate: 38400 } } : {}),
  });
  const bus = fleet.servers[0]!;
  bus.units.get(DEAD)!.silent = true;
  const served = new Map<number, number[]>();
  bus.onServe = (s) => served.set(s.unit, [...(served.get(s.unit) ?? []), s.at]);
  const yaml = gatewayConfigFor('gw-bench', fleet.endpoints, {
    mqtt: { url: 'mqtt://127.0.0.1:9' }, // nowhere: the outbox keeps what is sampled
    outbox: { path: join(dir, 'outbox.sqlite') },
    ...(pty ? { serialPeer: pty.b } : {}),
  }).replace(/timeout_ms: 1000/g, 'timeout_ms: 500');
  const gw = await new Gateway(parseGatewayConfig(new Node(join(dir, 'gw.yaml'), '', parseYaml(yaml)))).start();
  progress(`${framing}: ${UNITS} units on one bus, unit ${DEAD} silent, ${SECONDS} s`);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await gw.stop();
  await fleet.stop();
  await pty?.stop();
  rmSync(dir, { recursive: true, force: true });

  // The dead unit's first timeout, before anything is known of it, holds up one cycle: counted apart.
  const strays: number[] = [];
  let first = 0;
  let polls = 0;
  const t0 = Math.min(...[...served.values()].map((at) => at[0]!));
  for (const [unit, at] of served) {
    if (unit === DEAD) continue;
    polls += at.length;
    for (let i = 1; i < at.length; i++) {
      const stray = Math.abs(at[i]! - at[i - 1]! - PERIOD) / PERIOD;
      if (at[i - 1]! - t0 < 2 * PERIOD) first = Math.max(first, stray);
      else strays.push(stray);
    }
  }
  strays.sort((x, y) => x - y);
  const q = (p: number) => Number((strays[Math.min(strays.length - 1, Math.floor(p * strays.length))] ?? 0).toFixed(3));
  return {
    bus: framing,
    live_units: UNITS - 1,
    polls_per_s_per_live_unit: Number((polls / (UNITS - 1) / SECONDS).toFixed(2)),
    interval_stray_p50: q(0.5),
    interval_stray_p99: q(0.99),
    interval_stray_max: q(1),
    intervals_over_10pct: strays.filter((x) => x > 0.1).length,
    first_cycle_stray: Number(first.toFixed(3)),
    dead_unit_requests: bus.requestsByUnit.get(DEAD) ?? 0,
    dead_unit_requests_without_backoff: SECONDS,
  };
}

console.log(
  JSON.stringify(
    {
      bench: 'bus-faults',
      period_ms: PERIOD,
      timeout_ms: 500,
      seconds: SECONDS,
      runs: [await run('tcp'), await run('rtu-pty')],
    },
    null,
    2,
  ),
);
