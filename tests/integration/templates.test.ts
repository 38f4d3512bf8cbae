// Every device template with real parts: the simulator serving it over Modbus TCP on a free port, read
// by the gateway's Modbus link and DeviceReader; `qingcheng simulate --template` and the gateway config
// it writes; `qingcheng gateway templates`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isPolled, loadGatewayConfig } from '../../gateway/config.ts';
import { DeviceReader } from '../../gateway/device-reader.ts';
import { ModbusLink } from '../../gateway/drivers/modbus.ts';
import { TEMPLATES, type Template } from '../../gateway/templates.ts';
import { registerCount } from '../../protocol/modbus-values.ts';
import type { Served } from '../../simulators/modbus-server.ts';
import { aq6Reading } from '../../simulators/models/aq6.ts';
import { cemsReading } from '../../simulators/models/cems.ts';
import { TemplateUnit } from '../../simulators/models/template-unit.ts';
import { AirFleet } from '../../simulators/stations.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'qingcheng-templates-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fleet: AirFleet | undefined;
let link: ModbusLink | undefined;
afterEach(async () => {
  link?.close();
  link = undefined;
  await fleet?.stop();
  fleet = undefined;
});

/** What the simulator says it served of `field` at `at`: its own model for SIM-AQ6 and SIM-CEMS. */
function servedValue(t: Template, seed: number, field: string, at: number): number | undefined {
  const now = new Date(at);
  if (t.name === 'SIM-AQ6') return (aq6Reading(seed, now) as unknown as Record<string, number>)[field];
  if (t.name === 'SIM-CEMS') return (cemsReading(seed, now) as unknown as Record<string, number>)[field];
  return new TemplateUnit(t, seed).values(now)[field];
}

describe('each template served by the simulator over Modbus TCP, read by the gateway', () => {
  it.each(Object.values(TEMPLATES).map((t) => [t.name, t] as const))(
    '%s: the values read are the values served',
    async (_n, t) => {
      fleet = await new AirFleet().start({
        stations: 0,
        unitsPerServer: 4,
        basePort: 0,
        seed: 500,
        template: { def: t, units: 2 },
      });
      const e = fleet.endpoints[1]!;
      expect(e).toMatchObject({ model: t.name, kind: t.kind, unit: 2, seed: 501 });
      const served: Served[] = [];
      fleet.servers[0]!.onServe = (s) => served.push(s);
      link = new ModbusLink({ name: 'bus', type: 'modbus-tcp', host: e.host, port: e.port, timeoutMs: 1000 });
      const reader = new DeviceReader({ id: e.id, kind: t.kind, link: 'bus', unit: 2, pollMs: 1000, template: t });
      const rec = await reader.sample(link, Date.now());
      expect(served.map((s) => [s.fc, s.addr, s.regs.length])).toEqual(
        reader.blocks.map((b) => [b.fc, b.addr, b.count]),
      );
      for (const r of t.registers) {
        // The block that carried this register, and when the simulator answered it.
        const s = served.find(
          (x) => x.fc === r.fc && x.addr <= r.addr && r.addr + registerCount(r.type) <= x.addr + x.regs.length,
        );
        expect(rec.m[r.field], r.field).toBe(servedValue(t, 501, r.field, s!.at));
      }
      if (t.name !== 'SIM-AQ6') expect(rec.f).toBeUndefined(); // SIM-AQ6 has its daily calibration and rare faults
    },
  );
});

/** Runs a qingcheng command to its end. */
const run = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'bin/qingcheng.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, QINGCHENG_LOG: 'error' },
  });

describe('qingcheng simulate --template', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  /**
   * Starts the simulator and resolves with what it printed once the gateway config it writes to `cfgFile`
   * loads (the config is the simulator's answer; what it prints comes before it).
   */
  async function simulate(args: string[], cfgFile: string): Promise<string> {
    const p = spawn(
      process.execPath,
      [join(ROOT, 'bin/qingcheng.js'), 'simulate', ...args, '--write-gateway-config', cfgFile],
      { cwd: dir, env: { ...process.env, QINGCHENG_LOG: 'info' } },
    );
    child = p;
    let out = '';
    const seen = (c: Buffer) => (out += c.toString());
    p.stdout!.on('data', seen);
    p.stderr!.on('data', seen);
    const exited = new Promise<never>((_, reject) =>
      p.once('exit', (code) => reject(new Error(`simulate exited (${code}) before writing its config:\n${out}`))),
    );
    await Promise.race([waitFor(`the gateway config ${cfgFile}`, () => !!loadGatewayConfig(cfgFile), 30_000), exited]);
    return out;
  }

  it('serves units of a vendor template that a gateway config reads as the template says', async () => {
    const cfgFile = join(dir, 'gw-gm32.yaml');
    const out = await simulate(['--template', 'SICK-GM32', '--units', '2', '--port', '0', '--seed', '2000'], cfgFile);
    expect(out).toMatch(/SICK-GM32 sick-gm32-2000 at modbus-tcp:\/\/127\.0\.0\.1:\d+ unit 1/);
    expect(out).toContain('SICK-GM32: 5 UNVERIFIED fact(s)');
    const cfg = loadGatewayConfig(cfgFile);
    const devices = cfg.devices.filter(isPolled);
    expect(devices.map((d) => [d.id, d.kind, d.unit, d.template.name])).toEqual([
      ['sick-gm32-2000', 'stack.cems', 1, 'SICK-GM32'],
      ['sick-gm32-2001', 'stack.cems', 2, 'SICK-GM32'],
    ]);
    const l = cfg.links[0]!;
    if (l.type !== 'modbus-tcp') throw new Error(`expected a modbus-tcp link, got ${l.type}`);
    link = new ModbusLink(l);
    for (const [i, d] of devices.entries()) {
      const before = Math.floor(Date.now() / 1000);
      const rec = await new DeviceReader(d).sample(link, Date.now());
      const after = Math.floor(Date.now() / 1000);
      // The simulator answered within [before, after]: its values at one of those seconds.
      const candidates = Array.from({ length: after - before + 1 }, (_, k) =>
        new TemplateUnit(TEMPLATES['SICK-GM32']!, 2000 + i).values(new Date((before + k) * 1000)),
      );
      expect(candidates).toContainEqual(rec.m);
      expect(rec.f).toBeUndefined();
    }
  });

  it("serves a user's own template from --templates-dir, and the written config names the directory", async () => {
    const mine = join(dir, 'my-templates');
    mkdirSync(mine, { recursive: true });
    writeFileSync(
      join(mine, 'acme-pm.yaml'),
      stringify({
        name: 'ACME-PM',
        kind: 'air.micro',
        description: 'a PM sensor of our own',
        source: { document: 'ACME data sheet', page: 4 },
        address_base: 40001,
        word_order: 'CDAB',
        registers: [
          { field: 'pm25', addr: 40001, type: 'float32' },
          { field: 'pm10', addr: 40003, type: 'uint16', scale: 0.1 },
        ],
        state_codes: { addr: 40004, codes: { 0: 'N', 1: 'D' } },
      }),
    );
    const cfgFile = join(dir, 'gw-acme.yaml');
    await simulate(['--template', 'ACME-PM', '--templates-dir', 'my-templates', '--port', '0'], cfgFile);
    const cfg = loadGatewayConfig(cfgFile);
    const d = cfg.devices.filter(isPolled)[0]!;
    expect(d.template.file).toBe(join(mine, 'acme-pm.yaml'));
    const l = cfg.links[0]!;
    if (l.type !== 'modbus-tcp') throw new Error(`expected a modbus-tcp link, got ${l.type}`);
    link = new ModbusLink(l);
    const rec = await new DeviceReader(d).sample(link, Date.now());
    expect(Object.keys(rec.m)).toEqual(['pm25', 'pm10']);
    expect(rec.m.pm25).toBeGreaterThan(0);
    expect(rec.f).toBeUndefined();
  });

  it('names an unknown template and lists the known ones', () => {
    const r = run('simulate', '--template', 'NOPE');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--template: unknown template "NOPE"; templates are: DELTAOHM-PMSENSE');
  });
});

describe('qingcheng gateway templates', () => {
  it('lists every template: kind, source, and each UNVERIFIED fact with its reason', () => {
    const r = run('gateway', 'templates');
    expect(r.status).toBe(0);
    for (const t of Object.values(TEMPLATES)) {
      expect(r.stdout).toContain(`${t.name}  (${t.kind})`);
      expect(r.stdout).toContain(t.sources![0]!.document);
      for (const u of t.unverified ?? []) expect(r.stdout).toContain(`UNVERIFIED  ${u.what}: ${u.why}`);
    }
  });

  it("adds a directory's templates, and names the file and key of a mistake in one", () => {
    const mine = join(dir, 'listed');
    mkdirSync(mine, { recursive: true });
    const doc = {
      name: 'ACME-NOISE',
      kind: 'noise',
      description: 'a noise sensor',
      source: { document: 'ACME noise manual', section: '4.2' },
      registers: [{ field: 'la', addr: 0, scale: 0.1 }],
      unverified: [{ what: 'A-weighting', why: 'the manual does not say' }],
    };
    writeFileSync(join(mine, 'acme-noise.yaml'), stringify(doc));
    const ok = run('gateway', 'templates', '--templates-dir', mine);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ACME-NOISE  (noise)  a noise sensor');
    expect(ok.stdout).toContain('source      ACME noise manual, 4.2');
    expect(ok.stdout).toContain('UNVERIFIED  A-weighting: the manual does not say');
    writeFileSync(
      join(mine, 'acme-noise.yaml'),
      stringify({ ...doc, registers: [{ field: 'la', addr: 0, type: 'u16' }] }),
    );
    const bad = run('gateway', 'templates', '--templates-dir', mine);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      `${join(mine, 'acme-noise.yaml')}: registers[0].type: expected one of uint16, int16, uint32, int32, float32, got "u16"`,
    );
  });
});
