// Per-device state of a vapour-recovery monitor (GB 20952-2020 E.3.3, see standards/vapor.ts): a nozzle
// device sends one record per fuelling (`al`, `fuel_l`), a tank-pressure sensor `tank_p`, a
// concentration sensor `vapor_conc`. A/L and pressure are judged when a Beijing natural day ends (the
// first record of the next day), concentration at once. Each yields a level: 0 normal, 1 warning, 2 alarm.
import type { SampleRecord } from '../../protocol/envelope.ts';
import {
  addFuelling,
  concentrationLevel,
  ESCALATE_DAYS,
  FlatPressure,
  judgeAlDay,
  judgePressureDay,
  type AlTally,
} from '../../standards/vapor.ts';
import { DAY, beijingDayStart } from '../../protocol/time.ts';

/** Start of the Beijing natural day holding `ts`. */
export const dayOf = beijingDayStart;

export interface LevelObservation {
  rule: string;
  field: string;
  ts: number;
  level: number;
}

export class VaporState {
  private day = -1;
  private tally: AlTally = { valid: 0, outsideWarn: 0, outsideAlarm: 0 };
  private alWarnDays = 0;
  private flat = new FlatPressure();
  private hasPressure = false;
  private pressureWarnDays = 0;
  private concWarnedToday = false;
  private hasConc = false;
  private concWarnDays = 0;

  /** Start of the Beijing day being tallied, if any. */
  get openDay(): number | undefined {
    return this.day === -1 ? undefined : this.day;
  }

  add(r: SampleRecord): LevelObservation[] {
    const out: LevelObservation[] = [];
    const d = dayOf(r.ts);
    if (this.day === -1) this.day = d;
    if (d < this.day) return out; // a late record of a day already judged
    if (d > this.day) {
      const judgedAt = this.day + DAY;
      const al = judgeAlDay(this.tally, this.alWarnDays);
      this.tally = al.carry;
      this.alWarnDays = al.warnDays;
      if (al.level !== null) out.push({ rule: 'gb20952-al', field: 'al', ts: judgedAt, level: al.level });
      if (this.hasPressure) {
        const p = judgePressureDay(this.flat.longestMs, this.pressureWarnDays);
        this.pressureWarnDays = p.warnDays;
        out.push({ rule: 'gb20952-pressure', field: 'tank_p', ts: judgedAt, level: p.level });
      }
      if (this.hasConc) {
        // C-1: a concentration warning on 7 days in a row is an alarm.
        this.concWarnDays = this.concWarnedToday ? this.concWarnDays + 1 : 0;
        out.push({
          rule: 'gb20952-conc-days',
          field: 'vapor_conc',
          ts: judgedAt,
          level: this.concWarnDays >= ESCALATE_DAYS ? 2 : 0,
        });
      }
      this.flat = new FlatPressure();
      this.hasPressure = false;
      this.hasConc = false;
      this.concWarnedToday = false;
      this.day = d;
    }
    const m = r.m;
    if (m.al !== undefined && m.fuel_l !== undefined) addFuelling(this.tally, m.al, m.fuel_l);
    if (m.tank_p !== undefined) {
      this.flat.add(r.ts, m.tank_p);
      this.hasPressure = true;
    }
    if (m.vapor_conc !== undefined) {
      const level = concentrationLevel(m.vapor_conc);
      this.hasConc = true;
      if (level >= 1) this.concWarnedToday = true;
      out.push({ rule: 'gb20952-conc', field: 'vapor_conc', ts: r.ts, level });
    }
    return out;
  }
}
