// Optional site metadata for tags: a YAML map of device id → { district, site }.
import { configRoot } from '../protocol/config.ts';
import type { SiteInfo } from './schema.ts';

export function loadSites(file: string): Map<string, SiteInfo> {
  const root = configRoot(file).only('devices');
  const out = new Map<string, SiteInfo>();
  const devs = root.get('devices');
  if (!devs.present) return out;
  for (const id of Object.keys(devs.value as object)) {
    const d = devs.get(id).only('district', 'site');
    const info: SiteInfo = {};
    const district = d.get('district').optStr();
    const site = d.get('site').optStr();
    if (district) info.district = district;
    if (site) info.site = site;
    out.set(id, info);
  }
  return out;
}
