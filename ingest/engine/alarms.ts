// The alarm lifecycle: normal → pending → open → (update …) → close. A value must stay past its limit
// for `minDurationMs` before an alarm opens, and back inside the limit by a hysteresis margin for
// `clearDurationMs` before it closes, so a value flapping around a limit raises one alarm, not a storm.
// Times are sample times, so the outcome does not depend on when data arrives.

export interface Threshold {
  rule: string;
  field: string;
  limit: number;
  /** 'max': alarm when value > limit; 'min': when value < limit (dissolved oxygen). */
  bound: 'max' | 'min';
  minDurationMs: number;
  clearDurationMs: number;
  /** Fraction of the limit the value must come back by to count as clear (0.05 = 5 %). */
  hysteresis: number;
}

// The events and open alarms are payloads of alert/{dev}: their types live in protocol/.
import type { AlarmEvent, AlarmState, OpenAlarm } from '../../protocol/messages.ts';
export type { AlarmEvent, AlarmState, OpenAlarm } from '../../protocol/messages.ts';

interface Track {
  phase: 'normal' | 'pending' | 'open';
  since: number;
  clearSince?: number;
  peak: number;
  reportedPeak: number;
  lastTs: number;
  value: number;
  limit: number;
  openedAt: number;
  openValue: number;
}

/** An update is sent when the peak worsens by this fraction of the limit since the last report. */
const UPDATE_STEP = 0.1;

export class AlarmTracker {
  private tracks = new Map<string, Track>();

  private key(dev: string, rule: string, field: string): string {
    return `${dev}\u0000${rule}\u0000${field}`;
  }

  /** Feeds one valid sample; returns the lifecycle event it caused, if any. */
  observe(dev: string, t: Threshold, ts: number, value: number): AlarmEvent | null {
    const k = this.key(dev, t.rule, t.field);
    let tr = this.tracks.get(k);
    if (tr && ts <= tr.lastTs) return null; // a replayed or late sample: already judged
    const over = t.bound === 'max' ? value > t.limit : value < t.limit;
    const margin = t.limit * t.hysteresis;
    const clear = t.bound === 'max' ? value <= t.limit - margin : value >= t.limit + margin;
    const worse = (a: number, b: number) => (t.bound === 'max' ? Math.max(a, b) : Math.min(a, b));
    if (!tr) {
      if (!over) return null;
      tr = {
        phase: 'pending',
        since: ts,
        peak: value,
        reportedPeak: value,
        lastTs: ts,
        value,
        limit: t.limit,
        openedAt: ts,
        openValue: value,
      };
      this.tracks.set(k, tr);
    }
    tr.lastTs = ts;
    tr.value = value;
    tr.limit = t.limit;
    const event = (state: AlarmState, at: number): AlarmEvent => ({
      dev,
      rule: t.rule,
      field: t.field,
      state,
      ts: at,
      since: tr!.since,
      value,
      limit: t.limit,
      peak: tr!.peak,
    });

    if (tr.phase === 'pending') {
      if (!over) {
        this.tracks.delete(k);
        return null;
      }
      tr.peak = worse(tr.peak, value);
      if (ts - tr.since < t.minDurationMs) return null;
      tr.phase = 'open';
      tr.reportedPeak = tr.peak;
      tr.openedAt = ts;
      tr.openValue = value;
      return event('open', ts);
    }
    // open
    if (clear) {
      tr.clearSince ??= ts;
      if (ts - tr.clearSince < t.clearDurationMs) return null;
      this.tracks.delete(k);
      return event('close', tr.clearSince);
    }
    tr.clearSince = undefined; // past the limit, or inside the hysteresis band: not clearing
    if (!over) return null;
    tr.peak = worse(tr.peak, value);
    if (Math.abs(tr.peak - tr.reportedPeak) >= Math.abs(t.limit) * UPDATE_STEP) {
      tr.reportedPeak = tr.peak;
      return event('update', ts);
    }
    return null;
  }

  /** Restores an alarm that was open before a restart, so it is neither lost nor raised again. */
  restore(dev: string, a: OpenAlarm): void {
    this.tracks.set(this.key(dev, a.rule, a.field), {
      phase: 'open',
      since: a.since,
      peak: a.peak,
      reportedPeak: a.peak,
      lastTs: a.lastTs,
      value: a.value,
      limit: a.limit,
      openedAt: a.openedAt,
      openValue: a.openValue,
    });
  }

  /** Drops every track of a device: another worker judged it since, and its retained alert/{dev} says where it stands. */
  forget(dev: string): void {
    const prefix = `${dev}\u0000`;
    for (const k of this.tracks.keys()) if (k.startsWith(prefix)) this.tracks.delete(k);
  }

  /** The open alarms of a device (what alert/{dev} retains). */
  open(dev: string): OpenAlarm[] {
    const out: OpenAlarm[] = [];
    const prefix = `${dev}\u0000`;
    for (const [k, tr] of this.tracks) {
      if (tr.phase !== 'open' || !k.startsWith(prefix)) continue;
      const [, rule, field] = k.split('\u0000') as [string, string, string];
      out.push({
        rule,
        field,
        since: tr.since,
        limit: tr.limit,
        peak: tr.peak,
        value: tr.value,
        lastTs: tr.lastTs,
        openedAt: tr.openedAt,
        openValue: tr.openValue,
      });
    }
    return out;
  }
}
