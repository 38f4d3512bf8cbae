// The device template library (gateway/devices/*.yaml): every template's document vectors decode to the
// documented values and the block planner asks what the document's example asks; status registers give
// their flags; the loader names the file and key of a mistake; a gateway config adds its own directory.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadGatewayConfig, type PolledDeviceConfig } from '../../gateway/config.ts';
import { DeviceReader, type RegisterSource } from '../../gateway/device-reader.ts';
import {
  describeTemplates,
  loadTemplateDir,
  loadTemplateFile,
  parseTemplate,
  TEMPLATES,
  type Template,
  type TestVector,
} from '../../gateway/templates.ts';
import { Node } from '../../protocol/config.ts';
import { crc16modbus, readRequestPdu, rtuFrame, tcpFrame } from '../../protocol/modbus-frame.ts';

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-templates-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const device = (template: Template, unit = 1): PolledDeviceConfig => ({
  id: 'dev-1',
  kind: template.kind,
  link: 'bus',
  unit,
  pollMs: 1000,
  template,
});

const bytes = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
const hexOf = (b: Buffer) => [...b].map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(' ');

/** Unit and PDU of a frame, after checking its CRC (RTU) or MBAP length (TCP). */
function unframe(frame: Buffer, framing: TestVector['framing']): { unit: number; pdu: Buffer; tx: number } {
  if (framing === 'rtu') {
    expect(crc16modbus(frame.subarray(0, -2)), 'CRC').toBe(frame.readUInt16LE(frame.length - 2));
    return { unit: frame[0]!, pdu: frame.subarray(1, -2), tx: 0 };
  }
  expect(frame.readUInt16BE(2), 'MBAP protocol id').toBe(0);
  expect(frame.readUInt16BE(4), 'MBAP length').toBe(frame.length - 6);
  return { unit: frame[6]!, pdu: frame.subarray(7), tx: frame.readUInt16BE(0) };
}

/** The document's exchange: what was asked, and the registers that came back. */
function exchange(v: TestVector) {
  const req = unframe(bytes(v.request), v.framing);
  const res = unframe(bytes(v.response), v.framing);
  const fc = req.pdu[0]!;
  const addr = req.pdu.readUInt16BE(1);
  const count = req.pdu.readUInt16BE(3);
  expect([res.unit, res.pdu[0], res.pdu[1]], 'response unit, function, byte count').toEqual([req.unit, fc, count * 2]);
  const regs = Array.from({ length: count }, (_, i) => res.pdu.readUInt16BE(2 + i * 2));
  return { unit: req.unit, tx: req.tx, fc, addr, count, regs };
}

/** The part of a template a vector covers: its fields, and the status registers its response carries. */
function covered(t: Template, v: TestVector, x: { fc: number; addr: number; count: number }): Template {
  const inside = (fc: number, addr: number, n: number) => fc === x.fc && addr >= x.addr && addr + n <= x.addr + x.count;
  const statuses = v.flags ? [t.status, ...(t.moreStatus ?? [])].filter((s) => s && inside(s.fc, s.addr, 1)) : [];
  const sc = v.flags && t.stateCodes && inside(t.stateCodes.fc, t.stateCodes.addr, 1) ? t.stateCodes : undefined;
  const { status: _s, moreStatus: _m, stateCodes: _c, ...rest } = t;
  return {
    ...rest,
    registers: t.registers.filter((r) => r.field in v.values),
    ...(statuses[0] ? { status: statuses[0], moreStatus: statuses.slice(1) as NonNullable<Template['status']>[] } : {}),
    ...(sc ? { stateCodes: sc } : {}),
  };
}

/** A device answering from the document's response, and only within it. */
function answering(x: ReturnType<typeof exchange>): RegisterSource {
  return {
    read: async (unit, fc, addr, count) => {
      expect({ unit, fc }).toEqual({ unit: x.unit, fc: x.fc });
      expect(addr >= x.addr && addr + count <= x.addr + x.count, `read ${addr}+${count} inside the example`).toBe(true);
      return x.regs.slice(addr - x.addr, addr - x.addr + count);
    },
  };
}

const vectors = Object.values(TEMPLATES).flatMap((t) => (t.vectors ?? []).map((v) => [t.name, v.title, t, v] as const));

describe('the template library', () => {
  it('holds the simulated instruments and the vendor instruments of the domain reference', () => {
    expect(Object.keys(TEMPLATES).sort()).toEqual([
      'DELTAOHM-PMSENSE',
      'INSITU-AQUATROLL400',
      'SICK-GM32',
      'SICK-MARSIC300',
      'SIEMENS-QSA2700D',
      'SIM-AQ6',
      'SIM-CEMS',
      'SONBEST-SM7901B',
      'TELEDYNE-T300',
      'TELEDYNE-T400',
      'THERMO-5030I',
      'VAISALA-AQT530',
      'YSI-ODO',
    ]);
    // Every vendor template names its sources; only the T300's map came without an example frame.
    for (const t of Object.values(TEMPLATES)) expect(t.sources?.length, t.name).toBeGreaterThan(0);
    expect(
      Object.values(TEMPLATES)
        .filter((t) => !t.vectors?.length)
        .map((t) => t.name),
    ).toEqual(['TELEDYNE-T300']);
  });

  it('keeps SIM-AQ6 and SIM-CEMS the maps they were (docs/standards/modbus.md §6, §7)', () => {
    const aq6 = TEMPLATES['SIM-AQ6']!;
    expect(aq6.registers.map((r) => [r.field, r.addr, r.fc, r.type, r.scale])).toEqual([
      ['pm25', 0, 3, 'uint16', undefined],
      ['pm10', 1, 3, 'uint16', undefined],
      ['so2', 2, 3, 'uint16', undefined],
      ['no2', 3, 3, 'uint16', undefined],
      ['co', 4, 3, 'uint16', 0.01],
      ['o3', 5, 3, 'uint16', undefined],
      ['temp', 6, 3, 'int16', 0.1],
      ['rh', 7, 3, 'uint16', 0.1],
      ['pressure', 8, 3, 'uint16', 0.1],
      ['ws', 9, 3, 'uint16', 0.1],
      ['wd', 10, 3, 'uint16', undefined],
    ]);
    expect(aq6.status).toEqual({
      addr: 0x0b,
      fc: 3,
      bits: [
        { bit: 0, flag: 'D', fields: ['pm25', 'pm10'] },
        { bit: 1, flag: 'D', fields: ['so2', 'no2', 'co', 'o3'] },
        { bit: 2, flag: 'C', fields: ['pm25', 'pm10', 'so2', 'no2', 'co', 'o3'] },
        { bit: 3, flag: 'M', fields: ['pm25', 'pm10', 'so2', 'no2', 'co', 'o3'] },
        { bit: 4, flag: 'T', fields: ['pm25', 'pm10'] },
      ],
    });
    const cems = TEMPLATES['SIM-CEMS']!;
    expect(cems.registers).toEqual(
      ['so2', 'nox', 'o2', 'dust', 'flue_t', 'flow_v', 'flue_p', 'flue_rh'].map((field, i) => ({
        field,
        addr: i * 2,
        fc: 4,
        type: 'float32',
        order: 'CDAB',
      })),
    );
    expect(cems.stateCodes).toEqual({ addr: 0x10, fc: 4, codes: { 0: 'N', 1: 'M', 2: 'D', 3: 'C', 5: 'M', 6: 'D' } });
    expect(new DeviceReader(device(aq6)).blocks).toEqual([{ fc: 3, addr: 0, count: 12 }]);
    expect(new DeviceReader(device(cems)).blocks).toEqual([{ fc: 4, addr: 0, count: 17 }]);
  });

  it('converts the documents numbering to PDU addresses: from 1 (Siemens, Aqua TROLL), from 40001 (SONBEST)', () => {
    const addrs = (name: string) => TEMPLATES[name]!.registers.map((r) => r.addr);
    expect(addrs('SIEMENS-QSA2700D')).toEqual([0x0100, 0x0101]);
    expect(TEMPLATES['SIEMENS-QSA2700D']!.stateCodes?.addr).toBe(0x0103);
    expect(addrs('INSITU-AQUATROLL400')).toEqual([37, 45, 1537]);
    expect(addrs('SONBEST-SM7901B')).toEqual([0]);
    expect(TEMPLATES['THERMO-5030I']!.registers.map((r) => r.order)).toEqual(['CDAB', 'CDAB']);
    expect(TEMPLATES['VAISALA-AQT530']!.registers.every((r) => r.order === undefined)).toBe(true); // int16: no word order
  });

  it('never reads across a register the Siemens and Vaisala maps leave out (max_hole 0)', () => {
    expect(new DeviceReader(device(TEMPLATES['SIEMENS-QSA2700D']!)).blocks).toEqual([
      { fc: 3, addr: 0x0100, count: 2 },
      { fc: 3, addr: 0x0103, count: 1 },
    ]);
    expect(new DeviceReader(device(TEMPLATES['VAISALA-AQT530']!)).blocks).toEqual([
      { fc: 3, addr: 0, count: 3 },
      { fc: 3, addr: 5, count: 2 },
      { fc: 3, addr: 8, count: 5 },
    ]);
    // The YSI ODO reads whole 32-bit values only: an even start and count.
    for (const b of new DeviceReader(device(TEMPLATES['YSI-ODO']!)).blocks)
      expect([b.addr % 2, b.count % 2]).toEqual([0, 0]);
  });
});

describe.each(vectors)('%s: %s', (_name, _title, t, v) => {
  it("the gateway's block planner asks what the document's example asks", () => {
    const x = exchange(v);
    const blocks = new DeviceReader(device(covered(t, v, x), x.unit)).blocks;
    expect(blocks).toHaveLength(1);
    const pdu = readRequestPdu(blocks[0]!.fc, blocks[0]!.addr, blocks[0]!.count);
    const frame = v.framing === 'rtu' ? rtuFrame(x.unit, pdu) : tcpFrame(x.tx, x.unit, pdu);
    expect(hexOf(frame)).toBe(v.gatewayRequest ?? v.request);
  });

  it('the response decodes to the documented values (and flags)', async () => {
    const x = exchange(v);
    const rec = await new DeviceReader(device(covered(t, v, x), x.unit)).sample(answering(x), 0);
    expect(rec.m).toEqual(v.values);
    if (v.flags) expect(rec.f ?? {}).toEqual(v.flags);
  });
});

describe('status registers and state codes become HJ 212 flags', () => {
  /** A device whose registers are all 0 but one status word or state code. */
  const reading = (t: Template, fc: number, addr: number, word: number): RegisterSource => ({
    read: async (_u, f, a, n) => Array.from({ length: n }, (_, i) => (f === fc && a + i === addr ? word : 0)),
  });
  const withStates = Object.values(TEMPLATES).filter((t) => t.stateCodes);
  const withStatus = Object.values(TEMPLATES).filter((t) => t.status);

  it.each(withStates.map((t) => [t.name, t] as const))(
    '%s: each state code, and an undocumented one',
    async (_n, t) => {
      const sc = t.stateCodes!;
      const fields = t.registers.map((r) => r.field);
      const codes = Object.keys(sc.codes).map(Number);
      for (const code of [...codes, Math.max(...codes) + 1]) {
        const rec = await new DeviceReader(device(t)).sample(reading(t, sc.fc, sc.addr, code), 0);
        const flag = sc.codes[code] ?? 'D';
        expect(rec.f, `code ${code}`).toEqual(
          flag === 'N' ? undefined : Object.fromEntries(fields.map((f) => [f, flag])),
        );
      }
    },
  );

  it.each(withStatus.map((t) => [t.name, t] as const))('%s: each status bit flags its fields', async (_n, t) => {
    for (const s of [t.status!, ...(t.moreStatus ?? [])])
      for (const b of s.bits) {
        const rec = await new DeviceReader(device(t)).sample(reading(t, s.fc, s.addr, 1 << b.bit), 0);
        const fields = b.fields ?? t.registers.map((r) => r.field);
        expect(rec.f, `${s.addr} bit ${b.bit}`).toEqual(Object.fromEntries(fields.map((f) => [f, b.flag])));
      }
  });

  it('SICK GM32: a failure of one component flags that component only', async () => {
    const t = TEMPLATES['SICK-GM32']!;
    const rec = await new DeviceReader(device(t)).sample(reading(t, 4, 5019, 1), 0);
    expect(rec.f).toEqual({ no: 'D' });
  });
});

describe('template files', () => {
  const good = {
    name: 'MY-PM',
    kind: 'air.micro',
    description: 'a PM sensor',
    source: { document: 'its manual', page: 3 },
    registers: [{ field: 'pm25', addr: 0, type: 'uint16' }],
  };
  let n = 0;
  /** Writes a template document to its own file and returns the path. */
  const file = (doc: object) => {
    const f = join(dir, `t${n++}.yaml`);
    writeFileSync(f, stringify(doc));
    return f;
  };
  const reg = (r: object) => ({ ...good, registers: [{ field: 'pm25', addr: 0, ...r }] });

  it('reads the document numbering, word order and function code as data', () => {
    const t = loadTemplateFile(
      file({
        ...good,
        address_base: 40001,
        word_order: 'CDAB',
        fc: 4,
        registers: [
          { field: 'pm25', addr: 40001, type: 'float32' },
          { field: 'pm10', addr: 40003, type: 'float32', order: 'ABCD', fc: 3 },
          { field: 'temp', addr: 40005, type: 'int16', scale: 0.1 },
        ],
        state_codes: { addr: 40010, codes: { 0: 'N', 7: 'M' } },
        unverified: [{ what: 'word order', why: 'not stated' }],
      }),
    );
    expect(t.registers).toEqual([
      { field: 'pm25', addr: 0, fc: 4, type: 'float32', order: 'CDAB' },
      { field: 'pm10', addr: 2, fc: 3, type: 'float32', order: 'ABCD' },
      { field: 'temp', addr: 4, fc: 4, type: 'int16', scale: 0.1 },
    ]);
    expect(t.stateCodes).toEqual({ addr: 9, fc: 4, codes: { 0: 'N', 7: 'M' } });
    expect(t.sources).toEqual([{ document: 'its manual', page: '3' }]);
    expect(describeTemplates({ [t.name]: t })).toContain('UNVERIFIED  word order: not stated');
  });

  it.each([
    [{ ...good, colour: 'red' }, 'colour: unknown key; expected one of name, kind, description'],
    [reg({ type: 'float' }), 'registers[0].type: expected one of uint16, int16, uint32, int32, float32, got "float"'],
    [{ ...good, word_order: 'ADCB' }, 'word_order: expected one of ABCD, CDAB, BADC, DCBA, got "ADCB"'],
    [reg({ type: 'float32', order: 'BACD' }), 'registers[0].order: expected one of ABCD, CDAB, BADC, DCBA, got "BACD"'],
    [{ ...good, address_base: 2 }, 'address_base: expected one of 0, 1, 30001, 40001, got 2'],
    [{ ...good, address_base: 1 }, 'registers[0].addr: expected at least 1, got 0'],
    [reg({ addr: 65535, type: 'float32' }), 'registers[0].addr: a 2-register value does not fit below address 65535'],
    [reg({ field: 'pm2.5' }), 'registers[0].field: "pm2.5" is not a registry key'],
    [{ ...good, kind: 'air' }, 'kind: expected one of air.station, air.micro'],
    [{ ...good, name: 'has space' }, 'name: expected a name of letters, digits'],
    [{ ...good, registers: [] }, 'registers: expected at least one register'],
    [
      { ...good, registers: [...good.registers, { field: 'pm25', addr: 1 }] },
      'registers[1].field: "pm25" is read by another register',
    ],
    [
      {
        ...good,
        registers: [
          { field: 'pm25', addr: 0, type: 'float32' },
          { field: 'pm10', addr: 1 },
        ],
      },
      'registers[1].addr: overlaps registers[0] (pm25) at PDU address 1 (FC 3)',
    ],
    [{ ...good, status: { addr: 0, bits: [] } }, 'status.addr: overlaps registers[0] (pm25) at PDU address 0 (FC 3)'],
    [
      { ...good, status: [{ addr: 5, bits: [{ bit: 0, flag: 'D', fields: ['so2'] }] }] },
      'status[0].bits[0].fields: "so2" is not a field of this template; fields are: pm25',
    ],
    [
      { ...good, state_codes: { addr: 1, codes: { 1: 'X' } } },
      'state_codes.codes.1: expected one of N, F, M, S, D, C, T, B, got "X"',
    ],
    [{ ...good, state_codes: { addr: 1, codes: { one: 'M' } } }, 'state_codes.codes.one: expected a state code'],
    [{ ...good, unverified: [{ what: 'the unit' }] }, 'unverified[0].why: required'],
    [
      { ...good, vectors: [{ title: 'x', request: '01 03', response: '01 03 02 00 01', values: { so2: 1 } }] },
      'vectors[0].values.so2: unknown key; expected one of pm25',
    ],
    [
      { ...good, vectors: [{ title: 'x', request: '0103', response: '01' }] },
      'vectors[0].request: expected bytes in hex',
    ],
    [
      { ...good, vectors: [{ title: 'x', request: '01', response: '01', gateway_request: '01' }] },
      'vectors[0].note: required: why the gateway asks for other registers than the example',
    ],
  ])('names the file and key of a mistake: %#', (doc, message) => {
    const f = file(doc);
    expect(() => loadTemplateFile(f)).toThrow(`${f}: ${message}`);
  });

  it('loads the example of docs/standards/modbus.md §9, and its vector decodes', async () => {
    const doc = readFileSync(new URL('../../docs/standards/modbus.md', import.meta.url), 'utf8');
    const yaml = /## 9\.[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const t = parseTemplate(new Node('modbus.md §9', '', parse(yaml)));
    expect(t.registers.map((r) => [r.field, r.addr])).toEqual([
      ['pm25', 0],
      ['pm10', 1],
      ['temp', 2],
    ]);
    const v = t.vectors![0]!;
    const x = exchange(v);
    const reader = new DeviceReader(device(covered(t, v, x)));
    expect(reader.blocks).toEqual([{ fc: x.fc, addr: x.addr, count: x.count }]);
    const rec = await reader.sample(answering(x), 0);
    expect(rec.m).toEqual(v.values);
  });

  it('refuses two files of one name in a directory', () => {
    const d = join(dir, 'twice');
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), stringify(good));
    writeFileSync(join(d, 'b.yaml'), stringify(good));
    expect(() => loadTemplateDir(d)).toThrow(
      `${join(d, 'b.yaml')}: name: "MY-PM" is also the name of ${join(d, 'a.yaml')}`,
    );
  });
});

describe("a gateway config's templates_dir", () => {
  const config = (d: string, devices: object[]) => {
    mkdirSync(d, { recursive: true });
    const f = join(d, 'gateway.yaml');
    writeFileSync(
      f,
      stringify({
        gateway: { id: 'gw-1', templates_dir: './my-templates' },
        links: [{ name: 'bus', type: 'modbus-tcp', host: '127.0.0.1' }],
        devices,
      }),
    );
    return f;
  };

  it('adds the templates of a directory beside the config to the library', () => {
    const d = join(dir, 'site-a');
    mkdirSync(join(d, 'my-templates'), { recursive: true });
    writeFileSync(
      join(d, 'my-templates', 'my-noise.yaml'),
      stringify({
        name: 'MY-NOISE',
        kind: 'noise',
        description: 'a noise sensor',
        source: { document: 'its data sheet' },
        address_base: 1,
        registers: [{ field: 'la', addr: 1, type: 'uint16', scale: 0.1 }],
      }),
    );
    const cfg = loadGatewayConfig(
      config(d, [
        { id: 'n-1', link: 'bus', template: 'MY-NOISE' },
        { id: 'aq-1', link: 'bus', template: 'SIM-AQ6' },
      ]),
    );
    const [noise, aq] = cfg.devices as PolledDeviceConfig[];
    expect(noise!.kind).toBe('noise');
    expect(noise!.template.registers).toEqual([{ field: 'la', addr: 0, fc: 3, type: 'uint16', scale: 0.1 }]);
    expect(aq!.template).toBe(TEMPLATES['SIM-AQ6']);
  });

  it('names a missing directory, a mistake in its files and a built-in name taken again', () => {
    const d = join(dir, 'site-b');
    const f = config(d, [{ id: 'aq-1', link: 'bus', template: 'SIM-AQ6' }]);
    expect(() => loadGatewayConfig(f)).toThrow(
      `${f}: gateway.templates_dir: cannot read ${join(d, 'my-templates')}: ENOENT`,
    );
    mkdirSync(join(d, 'my-templates'));
    writeFileSync(join(d, 'my-templates', 'bad.yaml'), stringify({ ...TEMPLATES_DOC, word_order: 'BIG' }));
    expect(() => loadGatewayConfig(f)).toThrow(
      `${join(d, 'my-templates', 'bad.yaml')}: word_order: expected one of ABCD, CDAB, BADC, DCBA, got "BIG"`,
    );
    writeFileSync(join(d, 'my-templates', 'bad.yaml'), stringify({ ...TEMPLATES_DOC, name: 'SIM-AQ6' }));
    expect(() => loadGatewayConfig(f)).toThrow(
      `${join(d, 'my-templates', 'bad.yaml')}: name: "SIM-AQ6" is a built-in template (gateway/devices/sim-aq6.yaml)`,
    );
  });
});

const TEMPLATES_DOC = {
  name: 'MINE',
  kind: 'air.micro',
  description: 'mine',
  source: { document: 'a manual' },
  registers: [{ field: 'pm25', addr: 0 }],
};

describe('the listing (qingcheng gateway templates)', () => {
  it('shows every template with its kind, sources, notes and each UNVERIFIED fact with its reason', () => {
    const text = describeTemplates(TEMPLATES);
    for (const t of Object.values(TEMPLATES)) {
      expect(text).toContain(`${t.name}  (${t.kind})`);
      for (const s of t.sources ?? []) expect(text).toContain(s.document);
      for (const note of t.notes ?? []) expect(text).toContain(note);
      for (const u of t.unverified ?? []) expect(text).toContain(`UNVERIFIED  ${u.what}: ${u.why}`);
      for (const o of t.omitted ?? []) expect(text).toContain(`not read    ${o.what}: ${o.why}`);
    }
    expect(text).toContain('reads       pm25 257 (PDU 0x0100) FC3 uint16');
  });
});
