// CPU time and memory of a process from Linux's /proc, so a load report can say what each part of the
// pipeline cost per record. Elsewhere (no /proc) the figures are null.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks a second of /proc/<pid>/stat's utime and stime: USER_HZ, 100 on every Linux architecture we run. */
const TICKS = 100;

export interface ProcSample {
  /** User + system CPU seconds since the process started. */
  cpuS: number;
  rssMb: number;
  /** Peak resident memory (VmHWM). */
  peakRssMb: number;
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after its closing ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(f[11]) + Number(f[12])) / TICKS;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuS, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** The pid of the process whose command line contains `needle` (a path only it was given), or null. */
export function findPid(needle: string): number | null {
  let dirs: string[];
  try {
    dirs = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) return Number(d);
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}

export interface ProcCost {
  name: string;
  pid: number;
  cpu_s: number;
  cpu_us_per_record: number | null;
  /** Share of one core over the run. */
  cores: number;
  rss_mb: number;
  peak_rss_mb: number;
}

/** What a process spent between two samples, per record of `records` over `seconds`. */
export function costOf(
  name: string,
  pid: number,
  before: ProcSample,
  after: ProcSample,
  records: number,
  seconds: number,
): ProcCost {
  const cpu = after.cpuS - before.cpuS;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    name,
    pid,
    cpu_s: Math.round(cpu * 100) / 100,
    cpu_us_per_record: records > 0 ? r1((cpu * 1e6) / records) : null,
    cores: seconds > 0 ? Math.round((cpu / seconds) * 100) / 100 : 0,
    rss_mb: r1(after.rssMb),
    peak_rss_mb: r1(after.peakRssMb),
  };
}
