// Fleets of simulated stations: N micro-stations spread over Modbus TCP servers, K unit ids each.
import { aq6Reading, aq6Registers } from './models/aq6.ts';
import { ModbusTcpSimServer, type SimUnit } from './modbus-tcp-server.ts';

export function aq6Unit(seed: number): SimUnit {
  return { registers: (_fc, now) => aq6Registers(aq6Reading(seed, now)) };
}

export interface FleetOptions {
  stations: number;
  unitsPerServer: number;
  /** First TCP port; 0 picks free ports. */
  basePort: number;
  host?: string;
  seed?: number;
}

export interface SimEndpoint { host: string; port: number; unit: number; seed: number }

export class AirFleet {
  readonly servers: ModbusTcpSimServer[] = [];
  readonly endpoints: SimEndpoint[] = [];

  async start(o: FleetOptions): Promise<this> {
    const host = o.host ?? '127.0.0.1';
    for (let i = 0; i < o.stations; i += o.unitsPerServer) {
      const server = new ModbusTcpSimServer();
      const port = await server.listen(o.basePort ? o.basePort + this.servers.length : 0, host);
      for (let u = 1; u <= o.unitsPerServer && i + u - 1 < o.stations; u++) {
        const seed = (o.seed ?? 1000) + i + u - 1;
        server.units.set(u, aq6Unit(seed));
        this.endpoints.push({ host, port, unit: u, seed });
      }
      this.servers.push(server);
    }
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
