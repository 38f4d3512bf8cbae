// Fleets of simulated instruments on Modbus TCP servers, K unit ids each: SIM-AQ6 air micro-stations,
// SIM-CEMS smokestack analyzers, or the units of any device template (the generic model).
import { CemsUnit } from './models/cems.ts';
import { aq6Reading, aq6Registers } from './models/aq6.ts';
import { TemplateUnit, type SimTemplate } from './models/template-unit.ts';
import { ModbusSerialSim, ModbusTcpSimServer, type Framing, type SimBus, type SimUnit } from './modbus-server.ts';

export function aq6Unit(seed: number): SimUnit {
  return { registers: (_fc, now) => aq6Registers(aq6Reading(seed, now)) };
}

export interface FleetOptions {
  stations: number;
  /** SIM-CEMS analyzers, after the stations. */
  cems?: number;
  unitsPerServer: number;
  /** First TCP port; 0 picks free ports. */
  basePort: number;
  host?: string;
  seed?: number;
  /** TCP framing: Modbus TCP, or RTU frames (a serial device server in transparent mode). */
  framing?: Framing;
  /** Serve every unit on this serial line instead (one end of a pty pair, or a real port). */
  serial?: { device: string; baudRate?: number };
  /** Units of one device template, after the stations and analyzers. */
  template?: { def: SimTemplate; units: number };
  /** Units of further device templates, after those. */
  templates?: { def: SimTemplate; units: number }[];
}

/** The template a unit serves: SIM-AQ6, SIM-CEMS or any other. */
export type Model = string;

/** How to make the units of one model, and what to call them. */
interface Maker {
  model: Model;
  kind: string;
  prefix: string;
  make(seed: number): SimUnit;
}
const AQ6: Maker = { model: 'SIM-AQ6', kind: 'air.micro', prefix: 'aq', make: aq6Unit };
const CEMS: Maker = { model: 'SIM-CEMS', kind: 'stack.cems', prefix: 'cems', make: (seed) => new CemsUnit(seed) };

/** SIM-AQ6 and SIM-CEMS keep their own models (episodes, calibrations, excursions); other templates get the generic one. */
function makerFor(def: SimTemplate): Maker {
  if (def.name === AQ6.model) return AQ6;
  if (def.name === CEMS.model) return CEMS;
  return {
    model: def.name,
    kind: def.kind,
    prefix: def.name.toLowerCase(),
    make: (seed) => new TemplateUnit(def, seed),
  };
}
/** Where a simulated instrument answers: a TCP port (with its framing), or a serial device. */
export interface SimEndpoint {
  host: string;
  port: number;
  unit: number;
  seed: number;
  model: Model;
  /** The device kind a gateway config gives it. */
  kind: string;
  id: string;
  framing: Framing;
  serial?: { device: string; baudRate: number };
}

export class AirFleet {
  readonly servers: (ModbusTcpSimServer | ModbusSerialSim)[] = [];
  readonly endpoints: SimEndpoint[] = [];
  /** SIM-CEMS units by device id, for switching excursions on and off. */
  readonly cems = new Map<string, CemsUnit>();

  async start(o: FleetOptions): Promise<this> {
    const host = o.host ?? '127.0.0.1';
    const models: Maker[] = [
      ...Array<Maker>(o.stations).fill(AQ6),
      ...Array<Maker>(o.cems ?? 0).fill(CEMS),
      ...[...(o.template ? [o.template] : []), ...(o.templates ?? [])].flatMap((t) =>
        Array<Maker>(t.units).fill(makerFor(t.def)),
      ),
    ];
    // On a serial line every unit shares the bus (ids 1..247); over TCP, K units per port.
    const perServer = o.serial ? 247 : o.unitsPerServer;
    for (let i = 0; i < models.length; i += perServer) {
      let bus: SimBus;
      let where: Pick<SimEndpoint, 'host' | 'port' | 'framing' | 'serial'>;
      if (o.serial) {
        const sim = new ModbusSerialSim();
        const baudRate = o.serial.baudRate ?? 9600;
        await sim.open(o.serial.device, baudRate);
        bus = sim;
        this.servers.push(sim);
        where = { host: '', port: 0, framing: 'rtu', serial: { device: o.serial.device, baudRate } };
      } else {
        const server = new ModbusTcpSimServer(o.framing ?? 'tcp');
        const port = await server.listen(o.basePort ? o.basePort + this.servers.length : 0, host);
        bus = server;
        this.servers.push(server);
        where = { host, port, framing: o.framing ?? 'tcp' };
      }
      for (let u = 1; u <= perServer && i + u - 1 < models.length; u++) {
        const seed = (o.seed ?? 1000) + i + u - 1;
        const maker = models[i + u - 1]!;
        const id = `${maker.prefix}-${String(seed).padStart(4, '0')}`;
        const unit = maker.make(seed);
        if (unit instanceof CemsUnit) this.cems.set(id, unit);
        bus.units.set(u, unit);
        this.endpoints.push({ ...where, unit: u, seed, model: maker.model, kind: maker.kind, id });
      }
    }
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
