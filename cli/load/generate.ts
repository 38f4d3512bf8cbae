// Drives a fleet of FleetGateways from a plan: each device takes its samples on its own clock (or, for
// event classes, at random gaps around its mean), sample times come from the clock, and each gateway
// publishes what its devices took once per publish interval, as a gateway does after each poll cycle.
import type { FleetGateway } from '../../simulators/mqtt-load.ts';
import { hash01 } from '../../simulators/random.ts';
import type { GatewayPlan } from './plan.ts';
import { recordOf } from './records.ts';

export interface GenerateOptions {
  /** Stop taking samples at this clock time. */
  endAt: number;
  /** Stop after this many records in all (Infinity for no limit). */
  maxRecords: number;
  publishMs: number;
  /** How often due samples are taken and re-publishing is checked. */
  tickMs: number;
  /** Called about every 5 s with a line for stderr. */
  progress: (line: string) => void;
  /** Ends the run early (Ctrl-C). */
  aborted: () => boolean;
}

interface DeviceState {
  next: number;
  lastTs: number;
  k: number;
}

export interface Generated {
  startedAt: number;
  endedAt: number;
  records: number;
}

/** Takes samples into the gateways until `endAt` or `maxRecords`; resolves when the last one is handed over. */
export function generate(plans: GatewayPlan[], gws: FleetGateway[], o: GenerateOptions): Promise<Generated> {
  const startedAt = Date.now();
  const states: DeviceState[][] = plans.map((p) =>
    p.devices.map((d) => ({ next: startedAt + d.phaseMs, lastTs: 0, k: 0 })),
  );
  // Gateways publish at staggered moments within the interval, as independent gateways would.
  const nextPublish = plans.map((_, g) => startedAt + hash01(g, 5) * o.publishMs);
  let records = 0;
  let lastProgress = startedAt;
  return new Promise((resolve) => {
    const tick = () => {
      const now = Date.now();
      const stopAt = Math.min(now, o.endAt);
      for (let g = 0; g < plans.length; g++) {
        const devs = plans[g]!.devices;
        const gw = gws[g]!;
        for (let i = 0; i < devs.length; i++) {
          const d = devs[i]!;
          const s = states[g]![i]!;
          while (s.next <= stopAt && records < o.maxRecords) {
            // Whole milliseconds, never two samples of one device at one: a point is keyed by its time.
            const ts = Math.max(Math.round(s.next), s.lastTs + 1);
            gw.add(recordOf(d.dev, d.kind, d.seed, s.k, ts));
            s.lastTs = ts;
            s.k++;
            records++;
            s.next += d.event ? -Math.log(1 - hash01(d.seed, s.k, 7)) * d.intervalMs : d.intervalMs;
          }
        }
        if (now >= nextPublish[g]!) {
          gw.pump();
          nextPublish[g]! += o.publishMs * Math.max(1, Math.ceil((now - nextPublish[g]!) / o.publishMs));
        }
        gw.tick(now);
      }
      if (now - lastProgress >= 5000) {
        lastProgress = now;
        const sent = gws.reduce((s, gw) => s + gw.sent, 0);
        const acked = gws.reduce((s, gw) => s + gw.acked + 1, 0);
        o.progress(
          `${Math.round((now - startedAt) / 1000)} s: taken ${records}, sent ${sent}, acknowledged ${acked} (${Math.round(acked / ((now - startedAt) / 1000))}/s)`,
        );
      }
      if (now >= o.endAt || records >= o.maxRecords || o.aborted()) {
        clearInterval(timer);
        for (const gw of gws) gw.pump();
        resolve({ startedAt, endedAt: Date.now(), records });
      }
    };
    const timer = setInterval(tick, o.tickMs);
  });
}
