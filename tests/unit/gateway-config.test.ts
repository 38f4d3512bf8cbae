import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadGatewayConfig, parseGatewayConfig, type PolledDeviceConfig } from '../../gateway/config.ts';
import { planBlocks } from '../../gateway/device-reader.ts';
import { reconnectDelay } from '../../protocol/backoff.ts';
import { flagsFromStatus } from '../../gateway/flags.ts';
import { TEMPLATES } from '../../gateway/templates.ts';
import { Node } from '../../protocol/config.ts';
import { TestPki } from '../helpers/certs.ts';

const base = {
  gateway: { id: 'gw-1' },
  links: [{ name: 'bus-a', type: 'modbus-tcp', host: '127.0.0.1', port: 5020 }],
  devices: [{ id: 'aq-1', link: 'bus-a', unit: 1, template: 'SIM-AQ6' }],
};
/** A config read from /nowhere/gateway.yaml: relative file names resolve under /nowhere. */
/** Certificates made for the TLS keys' tests. */
const tlsDir = mkdtempSync(join(tmpdir(), 'qingcheng-gw-tls-'));
afterAll(() => rmSync(tlsDir, { recursive: true, force: true }));
const load = (doc: unknown) => parseGatewayConfig(new Node('/nowhere/gateway.yaml', '', doc));
const withDevice = (d: object) => ({ ...base, devices: [{ id: 'aq-1', link: 'bus-a', ...d }] });

describe('gateway config', () => {
  it('takes one broker URL or a list of brokers sharing one Redis, all of one scheme', () => {
    expect(load({ ...base, mqtt: { url: 'mqtt://a:1883' } }).mqtt).toMatchObject({
      url: 'mqtt://a:1883',
      urls: ['mqtt://a:1883'],
    });
    expect(load({ ...base, mqtt: { url: ['mqtt://a:1883', 'mqtt://b:1883'] } }).mqtt).toMatchObject({
      url: 'mqtt://a:1883',
      urls: ['mqtt://a:1883', 'mqtt://b:1883'],
    });
    expect(() => load({ ...base, mqtt: { url: ['mqtt://a:1883', 'mqtts://b:8883'] } })).toThrow(
      /mqtt\.url: every broker URL needs the same scheme/,
    );
    expect(() => load({ ...base, mqtt: { url: [] } })).toThrow(/mqtt\.url: expected at least one broker URL/);
    expect(() => load({ ...base, mqtt: { url: ['http://a'] } })).toThrow(/mqtt\.url\[0\]/);
  });

  it('waits longer after each failed connection, up to 30 s, spread over the upper half', () => {
    expect([0, 1, 2, 5, 9].map((n) => reconnectDelay(n, () => 0))).toEqual([500, 1000, 2000, 15_000, 15_000]);
    expect([0, 1, 5, 9].map((n) => reconnectDelay(n, () => 1))).toEqual([1000, 2000, 30_000, 30_000]);
  });

  it.each(['gateway.example.yaml', 'gateway.compose.yaml'])('loads config/%s', (name) => {
    process.env.QC_GW_PASSWORD ??= 'example';
    process.env.QC_PUSH_TOKEN ??= 'example';
    const cfg = loadGatewayConfig(new URL(`../../config/${name}`, import.meta.url).pathname);
    expect(cfg.devices.length).toBeGreaterThan(0);
  });

  it('fills documented defaults', () => {
    const c = load(base);
    expect(c.mqtt).toMatchObject({
      url: 'mqtt://127.0.0.1:1883',
      username: 'gw-1',
      prefix: 'env/v1',
      shards: 16,
      window: 8,
      republishMs: 30_000,
    });
    expect(c.devices[0]).toMatchObject({ kind: 'air.micro', pollMs: 1000, unit: 1 });
    expect(c.outbox.sync).toBe('full');
  });

  it.each([
    [{ ...base, gateway: { id: 'gw/1' } }, 'gateway.yaml: gateway.id: expected an id of letters'],
    [{ ...base, extra: 1 }, 'gateway.yaml: extra: unknown key'],
    [
      { ...base, links: [...base.links, { name: 'push', type: 'http', listen: '127.0.0.1:8089' }] },
      'gateway.yaml: links[1].token: required: the secret pushers send as "Authorization: Bearer <token>"',
    ],
    [
      {
        ...base,
        links: [...base.links, { name: 'push', type: 'http', listen: '127.0.0.1:8089', auth: 'none', token: 't' }],
      },
      'gateway.yaml: links[1].auth: "none" contradicts the token given',
    ],
    [
      { ...base, links: [...base.links, { name: 'push', type: 'http', listen: '127.0.0.1:8089', auth: 'open' }] },
      'gateway.yaml: links[1].auth: expected one of token, none',
    ],
    [
      {
        ...base,
        links: [
          ...base.links,
          { name: 'p', type: 'http', listen: '127.0.0.1:1', token: 't', tls: { cert: 'none.pem' } },
        ],
      },
      'gateway.yaml: links[1].tls.cert: cannot read /nowhere/none.pem (ENOENT)',
    ],
    [{ ...base, mqtt: { ca: 'ca.pem' } }, 'gateway.yaml: mqtt.ca: cannot read /nowhere/ca.pem (ENOENT): a PEM file'],
    [
      { ...base, mqtt: { ca: '/dev/null' } },
      'gateway.yaml: mqtt.url: ca, cert and key are for TLS: expected an mqtts:// or wss:// URL, got mqtt://127.0.0.1:1883',
    ],
    [
      { ...base, mqtt: { url: 'mqtts://broker:8883', cert: '/dev/null' } },
      'gateway.yaml: mqtt.key: required with mqtt.cert',
    ],
    [
      { ...base, mqtt: { url: 'mqtts://broker:8883', cert: '/dev/null', key: '/dev/null' } },
      'gateway.yaml: mqtt.cert: /dev/null is not a PEM certificate',
    ],
    [{ ...base, mqtt: { window: 0 } }, 'gateway.yaml: mqtt.window: expected at least 1, got 0'],
    [
      { ...base, links: [{ name: 'bus-a', type: 'serial', host: 'x' }] },
      'gateway.yaml: links[0].type: expected one of modbus-tcp, modbus-rtu, modbus-rtu-tcp, http, hj212, got "serial"',
    ],
    [
      { ...base, links: [...base.links, { name: 'push', type: 'http', listen: '8089' }] },
      'gateway.yaml: links[1].listen: expected host:port to listen on',
    ],
    [
      { ...base, links: [...base.links, { name: 'push', type: 'http', listen: ':1' }] },
      'gateway.yaml: links[1].listen: expected host:port',
    ],
    [
      { ...base, links: [...base.links, { name: 'push', type: 'http', listen: '0.0.0.0:8089', host: 'x' }] },
      'gateway.yaml: links[1].host: unknown key',
    ],
    [
      {
        ...base,
        links: [...base.links, { name: 'push', type: 'http', listen: '0.0.0.0:8089', token: 't' }],
        devices: [{ id: 'r', link: 'push', kind: 'rsd', template: 'SIM-AQ6' }],
      },
      'gateway.yaml: devices[0].template: unknown key; expected one of id, kind, link',
    ],
    [
      {
        ...base,
        links: [...base.links, { name: 'push', type: 'http', listen: '0.0.0.0:8089', token: 't' }],
        devices: [{ id: 'r', link: 'push' }],
      },
      'gateway.yaml: devices[0].kind: expected one of air.station, air.micro, stack.cems',
    ],
    [
      withDevice({ link: 'bus-b', template: 'SIM-AQ6' }),
      'gateway.yaml: devices[0].link: no link named "bus-b"; links are: bus-a',
    ],
    [withDevice({ template: 'SIM-XX' }), 'gateway.yaml: devices[0].template: unknown template "SIM-XX"'],
    [
      withDevice({ registers: [{ field: 'pm25', addr: 0, type: 'float' }] }),
      'gateway.yaml: devices[0].registers[0].type: expected one of uint16, int16, uint32, int32, float32, got "float"',
    ],
    [
      withDevice({ registers: [{ field: 'pm2.5', addr: 0 }] }),
      'gateway.yaml: devices[0].registers[0].field: "pm2.5" is not a registry key',
    ],
    [
      withDevice({ registers: [{ field: 'pm25', addr: 0, order: 'ABDC', type: 'float32' }] }),
      'gateway.yaml: devices[0].registers[0].order: expected one of ABCD, CDAB, BADC, DCBA',
    ],
    [withDevice({ template: 'SIM-AQ6', unit: 300 }), 'gateway.yaml: devices[0].unit: expected at most 255, got 300'],
    [{ ...base, devices: [] }, 'gateway.yaml: devices: expected at least one device'],
    [
      { ...base, mqtt: { password_env: 'QC_SURELY_UNSET' } },
      'gateway.yaml: mqtt.password_env: environment variable QC_SURELY_UNSET is not set',
    ],
  ])('names the file and key of a mistake: %#', (doc, message) => {
    expect(() => load(doc)).toThrow(message);
  });

  it('reads Modbus RTU links, serial and over TCP, with serial defaults', () => {
    const c = load({
      ...base,
      links: [
        { name: 'bus-a', type: 'modbus-rtu', device: '/dev/ttyUSB0' },
        { name: 'dtu', type: 'modbus-rtu-tcp', host: '10.0.0.5', port: 4001 },
      ],
    });
    expect(c.links).toEqual([
      {
        name: 'bus-a',
        type: 'modbus-rtu',
        device: '/dev/ttyUSB0',
        baudRate: 9600,
        parity: 'none',
        dataBits: 8,
        stopBits: 1,
        timeoutMs: 1000,
      },
      { name: 'dtu', type: 'modbus-rtu-tcp', host: '10.0.0.5', port: 4001, timeoutMs: 1000 },
    ]);
    expect(() =>
      load({ ...base, links: [{ name: 'bus-a', type: 'modbus-rtu', device: '/dev/ttyS0', baud_rate: 9601 }] }),
    ).toThrow(
      'gateway.yaml: links[0].baud_rate: expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, got 9601',
    );
    expect(() => load({ ...base, links: [{ name: 'bus-a', type: 'modbus-rtu', host: 'x' }] })).toThrow(
      'gateway.yaml: links[0].host: unknown key',
    );
  });

  it('reads an hj212 link and its loggers, and names a wrong MN, CRC variant or factor code', () => {
    const link = { name: 'loggers', type: 'hj212', listen: '0.0.0.0:9212' };
    const c = load({
      ...base,
      links: [...base.links, link],
      devices: [
        ...base.devices,
        {
          id: 'st-1',
          kind: 'air.station',
          link: 'loggers',
          mn: '150100A0000001000000A001',
          crc: 'modbus',
          scale: { a34004: 0.001 },
        },
      ],
    });
    expect(c.links[1]).toEqual({
      name: 'loggers',
      type: 'hj212',
      host: '0.0.0.0',
      port: 9212,
      offsetHours: 8,
      maxClockDriftS: 0,
      history: { backfill: true, maxWindowMs: 48 * 3_600_000, timeoutMs: 60_000, retries: 2, minuteIntervalMin: 10 },
    });
    expect(c.devices[1]).toEqual({
      id: 'st-1',
      kind: 'air.station',
      link: 'loggers',
      mn: '150100A0000001000000A001',
      crc: 'modbus',
      scale: { a34004: 0.001 },
    });
    const dev = (d: object) => () =>
      load({
        ...base,
        links: [...base.links, link],
        devices: [{ id: 'st-1', kind: 'air.station', link: 'loggers', mn: 'M1', ...d }],
      });
    expect(dev({ crc: 'crc32' })).toThrow(
      'gateway.yaml: devices[0].crc: expected one of hj212, modbus, modbus-le, got "crc32"',
    );
    expect(dev({ scale: { a99999: 2 } })).toThrow(
      'gateway.yaml: devices[0].scale.a99999: "a99999" is not an HJ 212 factor code of the registry',
    );
    expect(dev({ mn: 'has space' })).toThrow("gateway.yaml: devices[0].mn: expected the data logger's MN");
    expect(() =>
      load({
        ...base,
        links: [...base.links, link],
        devices: [
          { id: 'a', kind: 'noise', link: 'loggers', mn: 'M1' },
          { id: 'b', kind: 'noise', link: 'loggers', mn: 'M1' },
        ],
      }),
    ).toThrow('gateway.yaml: devices[1].mn: MN M1 is used by another device of link loggers');
  });

  it("reads a logger's SM4 key from sm4_key or sm4_key_env, and names a bad one without echoing it", () => {
    const link = { name: 'loggers', type: 'hj212', listen: '127.0.0.1:9212' };
    const dev = (d: object, o = {}) =>
      parseGatewayConfig(
        new Node('/nowhere/gateway.yaml', '', {
          ...base,
          links: [...base.links, link],
          devices: [{ id: 'st-1', kind: 'air.station', link: 'loggers', mn: 'M1', ...d }],
        }),
        o,
      ).devices[0] as { sm4Key?: { bytes: Buffer } };
    expect(dev({ sm4_key: '0123456789abcdeffedcba9876543210' }).sm4Key!.bytes.toString('hex')).toBe(
      '0123456789abcdeffedcba9876543210',
    );
    expect(dev({ sm4_key: '0000000000000000' }).sm4Key!.bytes).toEqual(Buffer.alloc(16, 0x30));
    expect(dev({}).sm4Key).toBeUndefined();
    process.env.QC_TEST_SM4 = '00112233445566778899aabbccddeeff';
    expect(dev({ sm4_key_env: 'QC_TEST_SM4' }).sm4Key!.bytes.toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect(JSON.stringify(dev({ sm4_key_env: 'QC_TEST_SM4' }))).toContain('"sm4Key":"[sm4 key]"');
    process.env.QC_TEST_SM4 = 'abc123';
    expect(() => dev({ sm4_key_env: 'QC_TEST_SM4' })).toThrow(
      'gateway.yaml: devices[0].sm4_key_env: the SM4 key in QC_TEST_SM4: expected 32 hex digits (16 bytes) or 16 printable ASCII characters, got 6 characters',
    );
    delete process.env.QC_TEST_SM4;
    expect(() => dev({ sm4_key_env: 'QC_TEST_SM4' })).toThrow(
      'gateway.yaml: devices[0].sm4_key_env: environment variable QC_TEST_SM4 is not set',
    );
    const unset: { key: string; env: string }[] = [];
    expect(dev({ sm4_key_env: 'QC_TEST_SM4' }, { unsetSecrets: unset }).sm4Key).toBeUndefined();
    expect(unset).toEqual([{ key: 'devices[0].sm4_key_env', env: 'QC_TEST_SM4' }]);
    expect(() => dev({ sm4_key: '0123456789abcdef0123' })).toThrow(
      'gateway.yaml: devices[0].sm4_key: the SM4 key: expected 32 hex digits (16 bytes) or 16 printable ASCII characters, got 20 characters',
    );
    expect(() => dev({ sm4_key: '0123456789abcdef0123' })).not.toThrow(/0123456789/);
    expect(() => dev({ sm4_key: 30303030303030303030303030303030 })).toThrow(
      'gateway.yaml: devices[0].sm4_key: expected the key as a quoted string',
    );
    expect(() => dev({ sm4_key: '0000000000000000', sm4_key_env: 'X' })).toThrow(
      'gateway.yaml: devices[0].sm4_key_env: give either sm4_key or sm4_key_env, not both',
    );
  });

  it("reads an hj212 link's history settings, and names a wrong one by file and key", () => {
    const link = (history: unknown) => ({ name: 'loggers', type: 'hj212', listen: '0.0.0.0:9212', history });
    const c = load({
      ...base,
      links: [
        ...base.links,
        link({ backfill: false, max_window_h: 6, timeout_s: 30, retries: 0, minute_interval_min: 1 }),
      ],
    });
    expect((c.links[1] as { history: unknown }).history).toEqual({
      backfill: false,
      maxWindowMs: 6 * 3_600_000,
      timeoutMs: 30_000,
      retries: 0,
      minuteIntervalMin: 1,
    });
    const bad = (history: unknown) => () => load({ ...base, links: [...base.links, link(history)] });
    expect(bad({ backfill: 'yes' })).toThrow(
      'gateway.yaml: links[1].history.backfill: expected true or false, got "yes"',
    );
    expect(bad({ max_window_h: 0 })).toThrow('gateway.yaml: links[1].history.max_window_h: expected at least 1, got 0');
    expect(bad({ retries: 1.5 })).toThrow('gateway.yaml: links[1].history.retries: expected an integer, got 1.5');
    expect(bad({ minute_interval_min: 7 })).toThrow(
      'gateway.yaml: links[1].history.minute_interval_min: expected one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, got 7',
    );
    expect(bad({ window: 3 })).toThrow('gateway.yaml: links[1].history.window: unknown key');
    expect(bad(true)).toThrow('gateway.yaml: links[1].history: expected a mapping');
  });

  it("reads the uplink's TLS files, and refuses a client certificate whose CN is not the gateway's user", () => {
    const dir = tlsDir;
    const pki = new TestPki(dir);
    const [mine, other] = [pki.client('gw-1'), pki.client('gw-2')];
    const mqtt = { url: 'mqtts://broker.example:8883', ca: 'ca.pem' };
    const c = parseGatewayConfig(
      new Node(join(dir, 'gateway.yaml'), '', { ...base, mqtt: { ...mqtt, cert: mine.cert, key: 'client-gw-1.key' } }),
    );
    expect(c.mqtt.tls).toEqual({ ca: pki.ca, cert: mine.cert, key: mine.key });
    expect(() =>
      parseGatewayConfig(new Node(join(dir, 'gateway.yaml'), '', { ...base, mqtt: { ...mqtt, ...other } })),
    ).toThrow(/gateway\.yaml: mqtt\.cert: the certificate's CN is gw-2, not gw-1/);
  });

  it('reads an http link and the devices that push to it', () => {
    process.env.QC_TEST_PUSH_TOKEN = 's3cret';
    const c = load({
      ...base,
      links: [
        ...base.links,
        { name: 'rsd-platform', type: 'http', listen: '127.0.0.1:8089', token_env: 'QC_TEST_PUSH_TOKEN' },
      ],
      devices: [...base.devices, { id: 'rsd-0001', kind: 'rsd', link: 'rsd-platform' }],
    });
    expect(c.links[1]).toEqual({ name: 'rsd-platform', type: 'http', host: '127.0.0.1', port: 8089, token: 's3cret' });
    expect(c.devices[1]).toEqual({ id: 'rsd-0001', kind: 'rsd', link: 'rsd-platform' });
  });

  it('accepts a register map written in the config', () => {
    const c = load(
      parse(`
gateway: { id: gw-1 }
links: [{ name: bus-a, type: modbus-tcp, host: 127.0.0.1 }]
devices:
  - id: cems-1
    kind: stack.cems
    link: bus-a
    registers:
      - { field: so2, addr: 0, fc: 4, type: float32, order: CDAB }
      - { field: temp, addr: 2, type: uint16, scale: 0.01, offset: -40 }
    status: { addr: 10, bits: [{ bit: 0, flag: D }] }
`),
    );
    expect(c.devices[0]!.kind).toBe('stack.cems');
    expect((c.devices[0] as PolledDeviceConfig).template.registers[1]).toEqual({
      field: 'temp',
      addr: 2,
      fc: 3,
      type: 'uint16',
      scale: 0.01,
      offset: -40,
    });
  });
});

describe('device reads', () => {
  it('plans SIM-AQ6 as one 12-register read', () => {
    const t = TEMPLATES['SIM-AQ6']!;
    const spans = [
      ...t.registers.map((r) => ({ fc: r.fc, addr: r.addr, count: 1 })),
      { fc: 3 as const, addr: 11, count: 1 },
    ];
    expect(planBlocks(spans)).toEqual([{ fc: 3, addr: 0, count: 12 }]);
  });

  it('splits reads across function codes, far-apart addresses and the 125-register limit', () => {
    expect(
      planBlocks([
        { fc: 3, addr: 0, count: 2 },
        { fc: 3, addr: 100, count: 2 },
        { fc: 4, addr: 0, count: 2 },
      ]),
    ).toEqual([
      { fc: 3, addr: 0, count: 2 },
      { fc: 3, addr: 100, count: 2 },
      { fc: 4, addr: 0, count: 2 },
    ]);
    expect(
      planBlocks([
        { fc: 3, addr: 0, count: 120 },
        { fc: 3, addr: 121, count: 10 },
      ]),
    ).toHaveLength(2);
  });

  it('turns SIM-AQ6 status bits into HJ 212 flags, the worst winning', () => {
    const t = TEMPLATES['SIM-AQ6']!;
    const fields = t.registers.map((r) => r.field);
    expect(flagsFromStatus(t.status!, 0, fields)).toEqual({});
    expect(flagsFromStatus(t.status!, 0b00001, fields)).toEqual({ pm25: 'D', pm10: 'D' });
    expect(flagsFromStatus(t.status!, 0b00100, fields)).toMatchObject({ so2: 'C', o3: 'C', pm25: 'C' });
    expect(flagsFromStatus(t.status!, 0b00101, fields)).toMatchObject({ pm25: 'D', so2: 'C' });
    expect(flagsFromStatus(t.status!, 0b11000, fields)).toMatchObject({ pm25: 'M', no2: 'M' });
    expect(flagsFromStatus(t.status!, 0b10000, fields)).toEqual({ pm25: 'T', pm10: 'T' });
  });
});

describe('ingest devices file', () => {
  it('loads config/devices.example.yaml', async () => {
    const { loadDeviceFile } = await import('../../ingest/engine/devices.ts');
    const { devices: d, rsd } = loadDeviceFile(new URL('../../config/devices.example.yaml', import.meta.url).pathname);
    expect(rsd).toEqual({
      limits: { diesel: { opacity: 30, ringelmann: 1, no_ppm: 1500 } },
      count: 2,
      windowDays: 180,
    });
    expect(d.get('rsd-0001')).toMatchObject({ limits: { opacity: 25 } });
    expect(d.get('cems-0001')).toMatchObject({ profile: 'ultra-low', limits: { so2: 30 }, district: '托克托县' });
    expect(d.get('ns-0012')).toEqual({ noiseZone: '4a' });
    expect(d.get('ws-0003')).toEqual({ targetClass: 3, waterbody: 'lake' });
  });

  it('names the key of a mistake', async () => {
    const { parseDevices } = await import('../../ingest/engine/devices.ts');
    expect(() => parseDevices(new Node('devices.yaml', '', { devices: { x: { profile: 'ultra-high' } } }))).toThrow(
      'devices.yaml: devices.x.profile: expected one of ultra-low,',
    );
    expect(() => parseDevices(new Node('devices.yaml', '', { devices: { x: { noise_zone: 5 } } }))).toThrow(
      'devices.yaml: devices.x.noise_zone: expected one of 0, 1, 2, 3, 4a, 4b, got 5',
    );
  });

  it('reads remote-sensing limits per fuel type and names a wrong one', async () => {
    const { parseRsd } = await import('../../ingest/engine/devices.ts');
    const rsd = (v: unknown) => parseRsd(new Node('devices.yaml', 'rsd', v));
    expect(rsd({ limits: { gasoline: { co_pct: 1, no_ppm: 1200 } }, repeat: { count: 3 } })).toEqual({
      limits: { diesel: { opacity: 30, ringelmann: 1, no_ppm: 1500 }, gasoline: { co_pct: 1, no_ppm: 1200 } },
      count: 3,
      windowDays: 180,
    });
    expect(() => rsd({ limits: { petrol: {} } })).toThrow(
      'devices.yaml: rsd.limits.petrol: unknown key; expected one of gasoline, diesel, gas, methanol, nev',
    );
    expect(() => rsd({ limits: { diesel: { smoke: 1 } } })).toThrow(
      'devices.yaml: rsd.limits.diesel.smoke: unknown key',
    );
    expect(() => rsd({ repeat: { count: 0 } })).toThrow('devices.yaml: rsd.repeat.count: expected at least 1, got 0');
  });
});
