// How the stack gets influxd on a machine that lacks it: each branch of the decision, without installing anything.
import { describe, expect, it } from 'vitest';
import { APT_STEPS, InfluxdMissing, installPlan, parseCandidate } from '../../cli/services/influxd-install.ts';

describe('installPlan', () => {
  it('as root on Debian/Ubuntu installs the influxdb package with apt-get', () => {
    expect(installPlan({ uid: 0, platform: 'linux', hasAptGet: true })).toEqual({ kind: 'apt', steps: APT_STEPS });
    expect(APT_STEPS).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'influxdb'],
    ]);
  });

  it('as another user on Debian/Ubuntu says the sudo command', () => {
    expect(installPlan({ uid: 1000, platform: 'linux', hasAptGet: true })).toEqual({
      kind: 'hint',
      command: 'sudo apt-get install influxdb',
    });
  });

  it('on macOS says the Homebrew command, root or not', () => {
    expect(installPlan({ uid: 501, platform: 'darwin', hasAptGet: false })).toEqual({
      kind: 'hint',
      command: 'brew install influxdb@1',
    });
    expect(installPlan({ uid: 0, platform: 'darwin', hasAptGet: false })).toEqual({
      kind: 'hint',
      command: 'brew install influxdb@1',
    });
  });

  it('elsewhere (no apt-get, or not Linux) gives the generic hint, even as root', () => {
    expect(installPlan({ uid: 0, platform: 'linux', hasAptGet: false })).toEqual({ kind: 'hint' });
    expect(installPlan({ uid: undefined, platform: 'win32', hasAptGet: false })).toEqual({ kind: 'hint' });
    expect(installPlan({ uid: 0, platform: 'freebsd', hasAptGet: true })).toEqual({ kind: 'hint' });
  });
});

describe('InfluxdMissing', () => {
  it('says the command of the plan, and the INFLUX_URL way out', () => {
    expect(new InfluxdMissing({ kind: 'hint', command: 'sudo apt-get install influxdb' }).message).toBe(
      'influxd (InfluxDB 1.x) was not found. Install it with:\n  sudo apt-get install influxdb\nthen start again, or point INFLUX_URL (--influx-url) at a running InfluxDB.',
    );
    expect(new InfluxdMissing({ kind: 'hint' }).message).toContain(
      'Install InfluxDB 1.x so that influxd is on the PATH (https://docs.influxdata.com/influxdb/v1/introduction/install/)',
    );
    expect(new InfluxdMissing({ kind: 'hint' }).exitCode).toBe(1);
  });
});

describe('parseCandidate', () => {
  it('reads the version apt-get would install from apt-cache policy', () => {
    expect(
      parseCandidate(
        'influxdb:\n  Installed: (none)\n  Candidate: 1.6.7~rc0-1+b13\n  Version table:\n     1.6.7~rc0-1+b13 500\n',
      ),
    ).toBe('1.6.7~rc0-1+b13');
    expect(parseCandidate('influxdb:\n  Installed: (none)\n  Candidate: (none)\n')).toBeNull();
    expect(parseCandidate('')).toBeNull();
  });
});
