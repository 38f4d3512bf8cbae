// Device templates: register maps as data. The built-in library is gateway/devices/*.yaml, one file per
// instrument, written from vendors' manuals with their source, unverified facts and example frames;
// users add their own directory (`gateway.templates_dir`). A device names a template or carries its own map.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configRoot, type Node } from '../protocol/config.ts';
import { DEVICE_KINDS, type DeviceKind } from '../protocol/kinds.ts';
import { registerCount, VALUE_TYPES, WORD_ORDERS, type ValueSpec, type WordOrder } from '../protocol/modbus-values.ts';
import { parseFieldName } from '../protocol/pollutants.ts';

export interface RegisterDef extends ValueSpec {
  /** Envelope field name (a registry key, optionally with a statistic suffix). */
  field: string;
  /** 0-based PDU address (a template file's own numbering is converted on load). */
  addr: number;
  /** 3 = holding registers, 4 = input registers. */
  fc: 3 | 4;
}

export interface StatusBit {
  bit: number;
  /** HJ 212 data flag the bit sets (D fault, C calibration, M maintenance, T out of range, …). */
  flag: string;
  /** Fields the flag applies to; absent = every field of the device. */
  fields?: string[];
}

export interface StatusDef {
  addr: number;
  fc: 3 | 4;
  bits: StatusBit[];
}

export interface StateCodes {
  addr: number;
  fc: 3 | 4;
  codes: Record<number, string>;
}

/** Where a template's facts come from: a document, and where in it. */
export interface TemplateSource {
  document: string;
  section?: string;
  page?: string;
  url?: string;
}

/** A fact that could not be confirmed from a primary document (or a register left out), and why. */
export interface Caveat {
  what: string;
  why: string;
}

/** An example exchange from the instrument's documentation: frames as hex bytes, and what they decode to. */
export interface TestVector {
  title: string;
  framing: 'rtu' | 'tcp';
  request: string;
  response: string;
  /** Decoded values, in the registry's units. */
  values: Record<string, number>;
  /** Flags the response's status registers give (only when it carries them). */
  flags?: Record<string, string>;
  /** The gateway's own request, where it reads less than the document's example does (and `note` says why). */
  gatewayRequest?: string;
  note?: string;
}

export interface Template {
  name: string;
  kind: DeviceKind;
  description: string;
  registers: RegisterDef[];
  status?: StatusDef;
  /** Further status words (an analyser with one per measured component). */
  moreStatus?: StatusDef[];
  /** How status codes in one register map to flags (for analyzers that report a state code, not bits). */
  stateCodes?: StateCodes;
  /** Unmapped registers the reader may read across; 0 when the instrument may refuse undocumented ones. */
  maxHole?: number;
  /** The file it was loaded from (absent for a map written in a gateway config). */
  file?: string;
  sources?: TemplateSource[];
  /** How the document numbers registers: 0 (PDU), 1, 30001 or 40001. */
  addressBase?: number;
  wordOrder?: WordOrder;
  /** Link facts from the document, shown to users: transports, serial settings, default unit id. */
  transport?: string[];
  serial?: string;
  unit?: number;
  notes?: string[];
  unverified?: Caveat[];
  /** Registers of the document the template does not read, and why. */
  omitted?: Caveat[];
  vectors?: TestVector[];
}

const FLAGS = ['F', 'M', 'S', 'D', 'C', 'T', 'B'] as const;
const ADDRESS_BASES = [0, 1, 30001, 40001] as const;
const NAME = { pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/, hint: 'a name of letters, digits, . _ - (1-48)' };
const SERIAL = { pattern: /^\d{3,6}( [78][NEO][12])?$/, hint: 'baud rate and frame, such as "19200 8E1"' };
const HEX = { pattern: /^[0-9A-Fa-f]{2}( [0-9A-Fa-f]{2})*$/, hint: 'bytes in hex separated by spaces, "01 03 00 00"' };

/** `{ key: v }`, or nothing when v is undefined (optional properties stay absent, not undefined). */
const optional = <K extends string, V>(key: K, v: V | undefined): { [k in K]?: V } =>
  (v === undefined ? {} : { [key]: v }) as { [k in K]?: V };

/** How a map numbers its registers and what it leaves implicit. A map in a gateway config is 0-based, FC 3. */
export interface MapDefaults {
  base: number;
  fc: 3 | 4;
  order?: WordOrder;
}
const INLINE: MapDefaults = { base: 0, fc: 3 };

export function functionCode(n: Node, def: 3 | 4 = 3): 3 | 4 {
  return n.num({ def, min: 3, max: 4, integer: true }) as 3 | 4;
}

/** The PDU address of a register the map numbers from `base`; the whole value must fit below 65536. */
function pduAddress(n: Node, base: number, count: number): number {
  const pdu = n.num({ min: base, max: 65535 + base, integer: true }) - base;
  if (pdu + count > 65536) n.fail(`a ${count}-register value does not fit below address 65535`);
  return pdu;
}

export function parseRegister(r: Node, d: MapDefaults = INLINE): RegisterDef {
  r.only('field', 'addr', 'fc', 'type', 'order', 'scale', 'offset');
  const field = r.get('field').str();
  if (!parseFieldName(field))
    r.get('field').fail(
      `"${field}" is not a registry key (pm25, so2, nox, temp, …) with an optional _min/_max/_avg/_zs… suffix`,
    );
  const type = r.get('type').oneOf(VALUE_TYPES, 'uint16');
  const addr = pduAddress(r.get('addr'), d.base, registerCount(type));
  const def: RegisterDef = { field, addr, fc: functionCode(r.get('fc'), d.fc), type };
  const order = r.get('order').present ? r.get('order').oneOf(WORD_ORDERS) : d.order;
  if (order !== undefined && registerCount(type) === 2) def.order = order;
  const scale = r.get('scale').optNum();
  if (scale !== undefined) def.scale = scale;
  const offset = r.get('offset').optNum();
  if (offset !== undefined) def.offset = offset;
  return def;
}

export function parseStatus(s: Node, d: MapDefaults = INLINE): StatusDef {
  s.only('addr', 'fc', 'bits');
  return {
    addr: pduAddress(s.get('addr'), d.base, 1),
    fc: functionCode(s.get('fc'), d.fc),
    bits: s
      .get('bits')
      .list()
      .map((b) => {
        b.only('bit', 'flag', 'fields');
        const fields = b.get('fields').present
          ? b
              .get('fields')
              .list()
              .map((f) => f.str())
          : undefined;
        return {
          bit: b.get('bit').num({ min: 0, max: 15, integer: true }),
          flag: b.get('flag').oneOf(FLAGS),
          ...(fields ? { fields } : {}),
        };
      }),
  };
}

function parseStateCodes(s: Node, d: MapDefaults): StateCodes {
  s.only('addr', 'fc', 'codes');
  const codes: Record<number, string> = {};
  const c = s.get('codes');
  if (typeof c.value !== 'object' || c.value === null || Array.isArray(c.value))
    c.fail('expected a mapping of state codes to flags, such as { 0: N, 1: M, 2: D }');
  for (const k of Object.keys(c.value as object)) {
    if (!/^\d{1,5}$/.test(k) || Number(k) > 65535) c.get(k).fail('expected a state code 0-65535 as the key');
    codes[Number(k)] = c.get(k).oneOf(['N', ...FLAGS]);
  }
  return { addr: pduAddress(s.get('addr'), d.base, 1), fc: functionCode(s.get('fc'), d.fc), codes };
}

/** Fails at `n` unless every name it lists is a field of the map. */
function checkFieldNames(n: Node, names: readonly string[], fields: Set<string>): void {
  for (const f of names)
    if (!fields.has(f)) n.fail(`"${f}" is not a field of this template; fields are: ${[...fields].join(', ')}`);
}

/** Two definitions on one register is a mistake in the map, not a choice. */
function checkOverlaps(items: { node: Node; fc: number; addr: number; count: number; what: string }[]): void {
  const owner = new Map<string, string>();
  for (const it of items)
    for (let a = it.addr; a < it.addr + it.count; a++) {
      const key = `${it.fc}:${a}`;
      const prev = owner.get(key);
      if (prev) it.node.fail(`overlaps ${prev} at PDU address ${a} (FC ${it.fc})`);
      owner.set(key, it.what);
    }
}

function parseCaveats(n: Node): Caveat[] {
  return n.list({ optional: true }).map((c) => {
    c.only('what', 'why');
    return { what: c.get('what').str(), why: c.get('why').str() };
  });
}

function parseSources(n: Node): TemplateSource[] {
  const list = Array.isArray(n.value) ? n.list() : [n];
  return list.map((s) => {
    s.only('document', 'section', 'page', 'url');
    const src: TemplateSource = { document: s.get('document').str({ hint: 'the title of the document' }) };
    for (const k of ['section', 'page', 'url'] as const) {
      const v = s.get(k).optStr();
      if (v !== undefined) src[k] = v;
    }
    return src;
  });
}

function parseVector(v: Node, fields: Set<string>): TestVector {
  v.only('title', 'framing', 'request', 'response', 'values', 'flags', 'gateway_request', 'note');
  // Keys of a mapping that must be fields of the template: a typo names itself.
  const keysOf = (n: Node) => Object.keys(n.only(...fields).value as object);
  const numbersOf = (n: Node) =>
    n.present ? Object.fromEntries(keysOf(n).map((k) => [k, n.get(k).num()])) : ({} as Record<string, number>);
  const vec: TestVector = {
    title: v.get('title').str(),
    framing: v.get('framing').oneOf(['rtu', 'tcp'] as const, 'rtu'),
    request: v.get('request').str(HEX),
    response: v.get('response').str(HEX),
    values: numbersOf(v.get('values')),
  };
  const f = v.get('flags');
  if (f.present) vec.flags = Object.fromEntries(keysOf(f).map((k) => [k, f.get(k).oneOf(FLAGS)]));
  const gw = v.get('gateway_request').optStr();
  if (gw !== undefined) {
    vec.gatewayRequest = v.get('gateway_request').str(HEX);
    vec.note = v.get('note').str({ hint: 'why the gateway asks for other registers than the example' });
  } else if (v.get('note').present) vec.note = v.get('note').str();
  return vec;
}

/** Status words, one mapping or a list of them, whose bits name fields of the template. */
function parseStatuses(n: Node, d: MapDefaults, fields: Set<string>): { defs: StatusDef[]; nodes: Node[] } {
  const nodes = Array.isArray(n.value) ? n.list() : n.present ? [n] : [];
  const defs = nodes.map((s) => parseStatus(s, d));
  defs.forEach((s, i) =>
    s.bits.forEach((b, j) => checkFieldNames(nodes[i]!.get('bits').list()[j]!.get('fields'), b.fields ?? [], fields)),
  );
  return { defs, nodes };
}

/** The registers' fields, each read once. */
function uniqueFields(regs: RegisterDef[], nodes: Node[]): Set<string> {
  const fields = new Set<string>();
  regs.forEach((r, i) => {
    if (fields.has(r.field)) nodes[i]!.get('field').fail(`"${r.field}" is read by another register`);
    fields.add(r.field);
  });
  return fields;
}

/** What the document says about the link, shown to users (the gateway config sets the link itself). */
function linkFacts(root: Node): Pick<Template, 'transport' | 'serial' | 'unit'> {
  const t = root.get('transport');
  return {
    ...optional('transport', t.present ? t.list().map((x) => x.oneOf(['rtu', 'ascii', 'tcp'] as const)) : undefined),
    ...optional('serial', root.get('serial').present ? root.get('serial').str(SERIAL) : undefined),
    ...optional('unit', root.get('unit').optNum({ min: 0, max: 255, integer: true })),
  };
}

const TEMPLATE_KEYS = [
  ...['name', 'kind', 'description', 'source', 'transport', 'serial', 'unit'],
  ...['address_base', 'word_order', 'fc', 'max_hole', 'registers', 'status', 'state_codes'],
  ...['notes', 'unverified', 'omitted', 'vectors'],
];

/** A template file's document, validated; every mistake names the file and key. */
export function parseTemplate(root: Node): Template {
  root.only(...TEMPLATE_KEYS);
  const name = root.get('name').str(NAME);
  const kind = root.get('kind').oneOf(Object.keys(DEVICE_KINDS) as DeviceKind[]);
  const description = root.get('description').str();
  const base = root.get('address_base').oneOf(ADDRESS_BASES, 0);
  const wordOrder = root.get('word_order').oneOf(WORD_ORDERS, 'ABCD');
  const d: MapDefaults = { base, fc: functionCode(root.get('fc')), order: wordOrder };
  const regNodes = root.get('registers').list();
  if (regNodes.length === 0) root.get('registers').fail('expected at least one register');
  const registers = regNodes.map((r) => parseRegister(r, d));
  const fields = uniqueFields(registers, regNodes);
  const statuses = parseStatuses(root.get('status'), d, fields);
  const sc = root.get('state_codes');
  const stateCodes = sc.present ? parseStateCodes(sc, d) : undefined;
  checkOverlaps([
    ...registers.map((r, i) => ({
      node: regNodes[i]!.get('addr'),
      ...r,
      count: registerCount(r.type),
      what: `registers[${i}] (${r.field})`,
    })),
    ...statuses.defs.map((s, i) => ({ node: statuses.nodes[i]!.get('addr'), ...s, count: 1, what: 'a status word' })),
    ...(stateCodes ? [{ node: sc.get('addr'), ...stateCodes, count: 1, what: 'the state code register' }] : []),
  ]);
  const [status, ...moreStatus] = statuses.defs;
  return {
    name,
    kind,
    description,
    registers,
    ...optional('status', status),
    ...(moreStatus.length ? { moreStatus } : {}),
    ...optional('stateCodes', stateCodes),
    ...optional('maxHole', root.get('max_hole').optNum({ min: 0, max: 123, integer: true })),
    file: root.file,
    sources: parseSources(root.get('source')),
    addressBase: base,
    wordOrder,
    ...linkFacts(root),
    notes: root
      .get('notes')
      .list({ optional: true })
      .map((n) => n.str()),
    unverified: parseCaveats(root.get('unverified')),
    omitted: parseCaveats(root.get('omitted')),
    vectors: root
      .get('vectors')
      .list({ optional: true })
      .map((v) => parseVector(v, fields)),
  };
}

export function loadTemplateFile(file: string): Template {
  return parseTemplate(configRoot(file));
}

/** Every `*.yaml` / `*.yml` in `dir`, by file name; two files may not give one name. */
export function loadTemplateDir(dir: string): Record<string, Template> {
  const out: Record<string, Template> = {};
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  for (const f of files) {
    const root = configRoot(join(dir, f));
    const t = parseTemplate(root);
    const prev = out[t.name];
    if (prev) root.get('name').fail(`"${t.name}" is also the name of ${prev.file}`);
    out[t.name] = t;
  }
  return out;
}

/** The built-in library, next to this file. */
export const BUILTIN_DIR = fileURLToPath(new URL('./devices/', import.meta.url));
export const TEMPLATES: Record<string, Template> = loadTemplateDir(BUILTIN_DIR);

/**
 * The built-in templates and those of a user's directory (relative paths from `n`'s file). A user template
 * may not reuse a built-in name: a name means one register map wherever it is read.
 */
export function templatesWithDir(n: Node): Record<string, Template> {
  if (!n.present) return TEMPLATES;
  const dir = resolve(dirname(n.file), n.str({ hint: 'a directory of template files (*.yaml)' }));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    n.fail(`cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!isDir) n.fail(`${dir} is not a directory`);
  const mine = loadTemplateDir(dir);
  for (const t of Object.values(mine)) {
    const builtin = TEMPLATES[t.name];
    if (builtin)
      configRoot(t.file!)
        .get('name')
        .fail(`"${t.name}" is a built-in template (${shortPath(builtin)})`);
  }
  return { ...TEMPLATES, ...mine };
}

const ROOT = resolve(BUILTIN_DIR, '..', '..');
/** A built-in file as the repository names it; a user's file as its path. */
function shortPath(t: Template): string {
  if (!t.file) return '(gateway config)';
  const rel = relative(ROOT, t.file);
  return t.file.startsWith(BUILTIN_DIR) ? rel : t.file;
}

const hex4 = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

/** One register as the document numbers it, with its PDU address when that differs. */
function where(t: Template, fc: number, addr: number): string {
  const doc = addr + (t.addressBase ?? 0);
  return `${doc === addr ? hex4(addr) : `${doc} (PDU ${hex4(addr)})`} FC${fc}`;
}

function sourceLine(s: TemplateSource): string {
  return [s.document, s.section, s.page && `p. ${s.page}`].filter(Boolean).join(', ') + (s.url ? ` <${s.url}>` : '');
}

/** What `qingcheng gateway templates` prints: each template's kind, source, map, notes and UNVERIFIED facts. */
export function describeTemplates(templates: Record<string, Template>): string {
  return Object.values(templates)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(describeTemplate)
    .join('\n');
}

function describeTemplate(t: Template): string {
  const lines = [`${t.name}  (${t.kind})  ${t.description}`, `  file        ${shortPath(t)}`];
  for (const s of t.sources ?? []) lines.push(`  source      ${sourceLine(s)}`);
  const link = [t.transport?.join('/'), t.serial, t.unit !== undefined && `unit ${t.unit}`].filter(Boolean);
  if (link.length) lines.push(`  link        ${link.join(', ')}`);
  const regs = t.registers.map((r) => {
    const order = r.order && r.order !== 'ABCD' ? ` ${r.order}` : '';
    const scale = r.scale !== undefined ? ` ×${r.scale}` : '';
    const offset = r.offset !== undefined ? ` ${r.offset >= 0 ? '+' : ''}${r.offset}` : '';
    return `${r.field} ${where(t, r.fc, r.addr)} ${r.type}${order}${scale}${offset}`;
  });
  lines.push(`  reads       ${regs.join('; ')}`);
  for (const s of [t.status, ...(t.moreStatus ?? [])].filter((s) => s !== undefined))
    lines.push(`  status      ${where(t, s.fc, s.addr)}: ${s.bits.map((b) => `bit ${b.bit} → ${b.flag}`).join(', ')}`);
  if (t.stateCodes) {
    const codes = Object.entries(t.stateCodes.codes).map(([c, f]) => `${c} → ${f}`);
    lines.push(`  state code  ${where(t, t.stateCodes.fc, t.stateCodes.addr)}: ${codes.join(', ')}, other → D`);
  }
  for (const n of t.notes ?? []) lines.push(`  note        ${n}`);
  for (const o of t.omitted ?? []) lines.push(`  not read    ${o.what}: ${o.why}`);
  for (const u of t.unverified ?? []) lines.push(`  UNVERIFIED  ${u.what}: ${u.why}`);
  lines.push(`  vectors     ${t.vectors?.length ? t.vectors.map((v) => v.title).join('; ') : 'none in the source'}`);
  return lines.join('\n') + '\n';
}
