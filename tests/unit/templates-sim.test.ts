// The generic simulator model (simulators/models/template-unit.ts): any template served with plausible
// values, encoded exactly as the template says, with status registers normal. Times are pinned.
import { describe, expect, it } from 'vitest';
import { DeviceReader, type RegisterSource } from '../../gateway/device-reader.ts';
import { TEMPLATES, type Template } from '../../gateway/templates.ts';
import { typicalOf } from '../../simulators/models/typical.ts';
import { TemplateUnit } from '../../simulators/models/template-unit.ts';
import { parseFieldName } from '../../protocol/pollutants.ts';

const AT = new Date('2026-06-15T06:00:00Z'); // 14:00 Beijing
const generic = Object.values(TEMPLATES)
  .filter((t) => !t.name.startsWith('SIM-'))
  .map((t) => [t.name, t] as const);

/** Registers straight from the unit, as a link would return them. */
const from = (unit: TemplateUnit, now: Date): RegisterSource => ({
  read: async (_u, fc, addr, count) => {
    const image = unit.registers(fc, now);
    return Array.from({ length: count }, (_, i) => {
      const v = image.get(addr + i);
      if (v === undefined) throw new Error(`register ${addr + i} (FC ${fc}) is not served`);
      return v;
    });
  },
});
const device = (t: Template) => ({ id: 'd', kind: t.kind, link: 'l', unit: 1, pollMs: 1000, template: t });

describe('the generic template model', () => {
  it.each(generic)('%s: the gateway decodes what the model says it serves, with no flags', async (_n, t) => {
    const unit = new TemplateUnit(t, 7);
    const rec = await new DeviceReader(device(t)).sample(from(unit, AT), AT.getTime());
    expect(rec.m).toEqual(unit.values(AT));
    expect(rec.f).toBeUndefined();
    for (const r of t.registers) {
      const typical = typicalOf(parseFieldName(r.field)!.key, t.kind);
      expect(rec.m[r.field], r.field).toBeGreaterThanOrEqual(typical.min - Math.abs(r.scale ?? 1));
      expect(rec.m[r.field], r.field).toBeLessThanOrEqual(typical.max + Math.abs(r.scale ?? 1));
    }
  });

  it('is a pure function of seed and clock', () => {
    const t = TEMPLATES['SICK-MARSIC300']!;
    expect(new TemplateUnit(t, 7).values(AT)).toEqual(new TemplateUnit(t, 7).values(new Date(AT)));
    expect(new TemplateUnit(t, 7).values(AT)).not.toEqual(new TemplateUnit(t, 8).values(AT));
  });

  it('follows a daily cycle: ozone in the afternoon above ozone at night, day after day', () => {
    const unit = new TemplateUnit(TEMPLATES['VAISALA-AQT530']!, 3);
    for (let day = 1; day <= 10; day++) {
      const afternoon = unit.values(new Date(`2026-07-${String(day).padStart(2, '0')}T07:00:00Z`)).o3!;
      const night = unit.values(new Date(`2026-07-${String(day).padStart(2, '0')}T19:00:00Z`)).o3!;
      expect(afternoon).toBeGreaterThan(night);
    }
  });

  it('serves stack gases in mg/m³ and ambient gases in µg/m³', () => {
    const stack = new TemplateUnit(TEMPLATES['SICK-GM32']!, 1).values(AT);
    const ambient = new TemplateUnit(TEMPLATES['VAISALA-AQT530']!, 1).values(AT);
    expect(stack.so2).toBeGreaterThan(0);
    expect(stack.so2).toBeLessThan(100);
    expect(ambient.no).toBeLessThan(1); // NO is mg/m³ in the registry
  });

  it('encodes as the template says: Thermo CDAB puts the low word first, Siemens numbers from 1', () => {
    const thermo = new TemplateUnit(TEMPLATES['THERMO-5030I']!, 1);
    const regs = thermo.registers(3, AT);
    const wire = Buffer.alloc(4);
    wire.writeUInt16BE(regs.get(2)!, 0); // high word is the second register
    wire.writeUInt16BE(regs.get(1)!, 2);
    expect(parseFloat(wire.readFloatBE(0).toPrecision(7))).toBe(thermo.values(AT).pm25);
    const siemens = new TemplateUnit(TEMPLATES['SIEMENS-QSA2700D']!, 1);
    const image = siemens.registers(3, AT);
    expect(image.get(0x0100)).toBe(siemens.values(AT).pm25); // register 257
    expect(image.get(0x0103)).toBe(0); // working status: normal
    expect(image.has(0x00ff)).toBe(false);
  });

  it('serves the state code a template calls normal, and 0 in status words', () => {
    const t: Template = {
      ...TEMPLATES['DELTAOHM-PMSENSE']!,
      stateCodes: { addr: 26, fc: 4, codes: { 1: 'D', 4: 'N' } },
    };
    expect(new TemplateUnit(t, 1).registers(4, AT).get(26)).toBe(4);
    const gm32 = new TemplateUnit(TEMPLATES['SICK-GM32']!, 1).registers(4, AT);
    expect([gm32.get(5002), gm32.get(5019), gm32.get(5036)]).toEqual([0, 0, 0]);
  });
});
