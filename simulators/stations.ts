// Fleets of simulated instruments on Modbus TCP servers, K unit ids each: SIM-AQ6 air micro-stations
// and SIM-CEMS smokestack analyzers.
import { CemsUnit } from './models/cems.ts';
import { aq6Reading, aq6Registers } from './models/aq6.ts';
import { ModbusTcpSimServer, type SimUnit } from './modbus-tcp-server.ts';

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
}

export type Model = 'SIM-AQ6' | 'SIM-CEMS';
export interface SimEndpoint { host: string; port: number; unit: number; seed: number; model: Model; id: string }

export class AirFleet {
  readonly servers: ModbusTcpSimServer[] = [];
  readonly endpoints: SimEndpoint[] = [];
  /** SIM-CEMS units by device id, for switching excursions on and off. */
  readonly cems = new Map<string, CemsUnit>();

  async start(o: FleetOptions): Promise<this> {
    const host = o.host ?? '127.0.0.1';
    const models: Model[] = [...Array<Model>(o.stations).fill('SIM-AQ6'), ...Array<Model>(o.cems ?? 0).fill('SIM-CEMS')];
    for (let i = 0; i < models.length; i += o.unitsPerServer) {
      const server = new ModbusTcpSimServer();
      const port = await server.listen(o.basePort ? o.basePort + this.servers.length : 0, host);
      for (let u = 1; u <= o.unitsPerServer && i + u - 1 < models.length; u++) {
        const seed = (o.seed ?? 1000) + i + u - 1;
        const model = models[i + u - 1]!;
        const id = `${model === 'SIM-AQ6' ? 'aq' : 'cems'}-${String(seed).padStart(4, '0')}`;
        if (model === 'SIM-AQ6') server.units.set(u, aq6Unit(seed));
        else {
          const unit = new CemsUnit(seed);
          this.cems.set(id, unit);
          server.units.set(u, unit);
        }
        this.endpoints.push({ host, port, unit: u, seed, model, id });
      }
      this.servers.push(server);
    }
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
