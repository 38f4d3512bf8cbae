import { describe, expect, it } from 'vitest';
import { parseFieldName, pollutant, pollutantByCode, POLLUTANTS } from '../../protocol/pollutants.ts';

// Every factor code of docs/protocol.md §4 (HJ 212-2017 Appendix B), with its 2005 code where one exists.
const CODES: [string, string, string?][] = [
  ['pm25', 'a34004'],
  ['pm10', 'a34002'],
  ['pm1', 'a34005'],
  ['tsp', 'a34001'],
  ['so2', 'a21026', '02'],
  ['nox', 'a21002', '03'],
  ['no2', 'a21004'],
  ['no', 'a21003'],
  ['co', 'a21005', '04'],
  ['o3', 'a05024'],
  ['dust', 'a34013', '01'],
  ['o2', 'a19001', 'S01'],
  ['flow_v', 'a01011', 'S02'],
  ['flue_t', 'a01012', 'S03'],
  ['flue_p', 'a01013', 'S08'],
  ['flue_rh', 'a01014', 'S05'],
  ['flue_dp', 'a01017', 'S04'],
  ['duct_area', 'a01016', 'S07'],
  ['gas_flow', 'a00000', 'B02'],
  ['temp', 'a01001'],
  ['rh', 'a01002'],
  ['pressure', 'a01006'],
  ['ws', 'a01007'],
  ['wd', 'a01008'],
  ['ringelmann', 'a01010', '37'],
  ['nh3', 'a21001', '10'],
  ['nmhc', 'a24088'],
  ['thc', 'a24087', '25'],
  ['ch4', 'a05002'],
  ['water_flow', 'w00000', 'B01'],
  ['ph', 'w01001', '001'],
  ['cod', 'w01018', '011'],
  ['codmn', 'w01019'],
  ['bod5', 'w01017', '010'],
  ['nh3n', 'w21003', '060'],
  ['tp', 'w21011', '101'],
  ['tn', 'w21001', '065'],
  ['do', 'w01009'],
  ['water_t', 'w01010'],
  ['cond', 'w01014'],
  ['ss', 'w01012', '003'],
  ['fluoride', 'w21017', '072'],
  ['petroleum', 'w22001', '080'],
  ['leq', 'Leq'],
  ['la', 'LA'],
  ['lmax', 'LMx'],
];

describe('pollutant registry', () => {
  it.each(CODES)('%s ↔ %s', (key, code, code2005) => {
    expect(pollutant(key)?.hj212).toBe(code);
    expect(pollutantByCode(code)?.key).toBe(key);
    if (code2005) expect(pollutantByCode(code2005)?.key).toBe(key);
  });

  it('has unique keys and codes', () => {
    expect(new Set(POLLUTANTS.map((p) => p.key)).size).toBe(POLLUTANTS.length);
    const codes = POLLUTANTS.map((p) => p.hj212).filter(Boolean);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('uses ambient units for AQI inputs (µg/m³, CO mg/m³), not HJ 212 ng/m³ defaults', () => {
    expect(pollutant('pm25')?.unit).toBe('µg/m³');
    expect(pollutant('co')?.unit).toBe('mg/m³');
  });

  it('parses statistic suffixes', () => {
    expect(parseFieldName('so2_zsavg')).toEqual({ key: 'so2', suffix: 'zsavg' });
    expect(parseFieldName('flue_t')).toEqual({ key: 'flue_t', suffix: null });
    expect(parseFieldName('flue_t_max')).toEqual({ key: 'flue_t', suffix: 'max' });
    expect(parseFieldName('so2_median')).toBeNull();
    expect(parseFieldName('xyz')).toBeNull();
  });
});

describe('plausible values', () => {
  it('keeps an analyser zero drift slightly below zero, refuses what no instrument reports', async () => {
    const { implausible } = await import('../../protocol/pollutants.ts');
    expect(implausible('so2', -0.2)).toBeNull(); // zero drift of a gas analyser
    expect(implausible('pm25', -49)).toBeNull();
    expect(implausible('pm25', -51)).toMatch(/^-51 is outside the plausible range -50…5000 µg\/m³$/);
    expect(implausible('pm25', 1e308)).toMatch(/outside the plausible range/);
    expect(implausible('temp', -61)).toMatch(/outside/); // a range that does not start at 0 has no drift
    expect(implausible('water_flow_cou', -1)).toMatch(/outside/); // totals are never negative
  });
});
