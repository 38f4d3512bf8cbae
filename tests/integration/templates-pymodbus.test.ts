// Templates read from an independent slave: pymodbus (Debian's python3-pymodbus) serving known values it
// encodes itself from the template's map — word order with pymodbus' payload builder, scale as a
// division — read by the gateway's Modbus link and DeviceReader. CDAB (Thermo 5030i), ABCD (YSI ODO,
// SICK GM32 with its per-component status words) and int16 with unit conversions (Vaisala AQT530).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DeviceReader } from '../../gateway/device-reader.ts';
import { ModbusLink } from '../../gateway/drivers/modbus.ts';
import { TEMPLATES, type Template } from '../../gateway/templates.ts';
import { startPymodbusSlave, type PymodbusSlave, type SlavePoint } from '../helpers/pymodbus.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-pymodbus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let slave: PymodbusSlave | undefined;
let link: ModbusLink | undefined;
afterEach(async () => {
  link?.close();
  link = undefined;
  await slave?.stop();
  slave = undefined;
});

/** The slave's points: each register of the template holding its known value; status words and state codes as given. */
function pointsOf(t: Template, values: Record<string, number>, words: Record<number, number> = {}): SlavePoint[] {
  const points: SlavePoint[] = t.registers.map((r) => ({
    fc: r.fc,
    addr: r.addr,
    type: r.type,
    ...(r.order ? { order: r.order } : {}),
    value: values[r.field]!,
    ...(r.scale !== undefined ? { scale: r.scale } : {}),
    ...(r.offset !== undefined ? { offset: r.offset } : {}),
  }));
  for (const s of [t.status, ...(t.moreStatus ?? []), t.stateCodes].filter((s) => s !== undefined))
    points.push({ fc: s.fc, addr: s.addr, type: 'uint16', value: words[s.addr] ?? 0 });
  return points;
}

async function readFromPymodbus(name: string, values: Record<string, number>, words?: Record<number, number>) {
  const t = TEMPLATES[name]!;
  const unit = 7;
  slave = await startPymodbusSlave(dir, unit, pointsOf(t, values, words));
  link = new ModbusLink({ name: 'bus', type: 'modbus-tcp', host: '127.0.0.1', port: slave.port, timeoutMs: 2000 });
  return new DeviceReader({ id: 'dev', kind: t.kind, link: 'bus', unit, pollMs: 1000, template: t }).sample(link, 0);
}

describe('templates read from a pymodbus slave', () => {
  it('THERMO-5030I: float32 CDAB (low word first) at PDU 1 and 15', async () => {
    expect(TEMPLATES['THERMO-5030I']!.registers.map((r) => r.order)).toEqual(['CDAB', 'CDAB']);
    const rec = await readFromPymodbus('THERMO-5030I', { pm25: 35.2, rh: 41.5 });
    expect(rec.m).toEqual({ pm25: 35.2, rh: 41.5 });
    expect(rec.f).toBeUndefined();
  });

  it('YSI-ODO: float32 ABCD input registers', async () => {
    expect(TEMPLATES['YSI-ODO']!.registers.map((r) => [r.fc, r.order])).toEqual([
      [4, 'ABCD'],
      [4, 'ABCD'],
    ]);
    const rec = await readFromPymodbus('YSI-ODO', { do: 8.45, water_t: 22.5 });
    expect(rec.m).toEqual({ do: 8.45, water_t: 22.5 });
  });

  it('SICK-GM32: float32 ABCD components at 5000 + 17·k, and a failed component flagged by its own status word', async () => {
    const rec = await readFromPymodbus('SICK-GM32', { so2: 125.4, no: 18.25, no2: 2.5 }, { 5036: 0b1 });
    expect(rec.m).toEqual({ so2: 125.4, no: 18.25, no2: 2.5 });
    expect(rec.f).toEqual({ no2: 'D' });
  });

  it('VAISALA-AQT530: int16 ppb converted to µg/m³ and mg/m³, ×10 and ×100 scales', async () => {
    const values = {
      no2: 39.48, // 21 ppb
      so2: 10.476, // 4 ppb
      co: 0.40075, // 350 ppb
      o3: 117.72, // 60 ppb
      no: 0.01226, // 10 ppb
      pm25: 35.2,
      pm10: 58.7,
      temp: -8.5,
      rh: 41.2,
      pressure: 88.9,
    };
    const rec = await readFromPymodbus('VAISALA-AQT530', values);
    expect(rec.m).toEqual(values);
  });
});
