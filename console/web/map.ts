// The stations on a schematic map: inline SVG, placed by the lat/lon of the devices file (north up,
// east–west distances shrunk by cos(latitude) so the shape is right), with a scale bar and no tiles, so
// it works offline. A station is coloured by its latest hourly AQI (air devices) or else its state, ringed
// when it has open alarms, and links to its device page.
import type { DeviceRow, DeviceState } from '../devices-view.ts';
import { LEVEL_RGB } from '../units.ts';
import { esc } from './render.ts';

export const STATE_RGB: Record<DeviceState, string> = {
  up: '#2e7d32',
  degraded: '#e0a000',
  down: '#c62828',
  silent: '#8d6e63',
  offline: '#757575',
  unknown: '#b0b0b0',
};

const W = 760;
const H = 380;
const PAD = 48;
const LEGEND_W = 130;
const KM_PER_DEG = 111.32;
/** A label's line height, and its width as drawn at 12 px (CJK characters are about twice as wide). */
const LINE = 14;
const textWidth = (s: string) => [...s].reduce((w, c) => w + (c.charCodeAt(0) > 0x2e80 ? 12 : 6.6), 0);
const DEG_STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

export function mapSvg(rows: DeviceRow[], stateText: (s: DeviceState) => string): string {
  const placed = rows.filter(
    (r): r is DeviceRow & { lat: number; lon: number } => r.lat !== undefined && r.lon !== undefined,
  );
  if (!placed.length) return '';
  const lat0 = (Math.min(...placed.map((r) => r.lat)) + Math.max(...placed.map((r) => r.lat))) / 2;
  const k = Math.cos((lat0 * Math.PI) / 180);
  // Kilometres east and north of the stations' centre.
  const pts = placed.map((r) => ({ r, e: r.lon * k * KM_PER_DEG, n: r.lat * KM_PER_DEG }));
  const [e0, e1] = [Math.min(...pts.map((p) => p.e)), Math.max(...pts.map((p) => p.e))];
  const [n0, n1] = [Math.min(...pts.map((p) => p.n)), Math.max(...pts.map((p) => p.n))];
  // At least 2 km across, so one station (or a few close together) does not fill the frame.
  const span = Math.max(e1 - e0, ((n1 - n0) * (W - 2 * PAD)) / (H - 2 * PAD), 2);
  const scale = (W - 2 * PAD) / span; // px per km
  const cx = (e0 + e1) / 2;
  const cy = (n0 + n1) / 2;
  const x = (e: number) => Math.round((W / 2 + (e - cx) * scale) * 10) / 10;
  const y = (n: number) => Math.round((H / 2 - (n - cy) * scale) * 10) / 10;
  const parts: string[] = [`<rect class="map-bg" x="0" y="0" width="${W}" height="${H}"/>`];
  // A graticule of round degrees, labelled, so the schematic can be read against any other map.
  const lonAt = (px: number) => ((px - W / 2) / scale + cx) / (k * KM_PER_DEG);
  const latAt = (py: number) => ((H / 2 - py) / scale + cy) / KM_PER_DEG;
  const deg = DEG_STEPS.find((d) => (lonAt(W) - lonAt(0)) / d <= 6) ?? 10;
  const dp = Math.max(0, -Math.floor(Math.log10(deg)));
  for (let lon = Math.ceil(lonAt(0) / deg) * deg; lon <= lonAt(W); lon += deg) {
    const px = x(lon * k * KM_PER_DEG);
    parts.push(
      `<line class="graticule" x1="${px}" x2="${px}" y1="0" y2="${H}"/>`,
      `<text class="tick" x="${px + 3}" y="12">${lon.toFixed(dp)}°E</text>`,
    );
  }
  for (let lat = Math.ceil(latAt(H) / deg) * deg; lat <= latAt(0); lat += deg) {
    const py = y(lat * KM_PER_DEG);
    if (py < 20 || py > H - 30) continue; // clear of the longitudes' labels and the scale bar
    parts.push(
      `<line class="graticule" x1="0" x2="${W}" y1="${py}" y2="${py}"/>`,
      `<text class="tick" x="3" y="${py - 3}">${lat.toFixed(dp)}°N</text>`,
    );
  }
  // A scale bar of a round number of kilometres, about a fifth of the width.
  const km = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500].find((d) => d * scale >= W / 6) ?? 1000;
  parts.push(
    `<line class="scale" x1="${PAD}" x2="${PAD + km * scale}" y1="${H - 18}" y2="${H - 18}"/>`,
    `<text class="tick" x="${PAD}" y="${H - 24}">${km} km</text>`,
    `<text class="north" x="${W - 24}" y="28" text-anchor="middle">N ↑</text>`,
  );
  // Stations top to bottom; a label that would overlap one already placed moves down a line.
  const labels: { x0: number; x1: number; y: number }[] = [];
  for (const { r, e, n } of pts.sort((a, b) => b.n - a.n || a.r.dev.localeCompare(b.r.dev))) {
    const fill = r.aqiLevel ? LEVEL_RGB[r.aqiLevel - 1] : STATE_RGB[r.state];
    const tip = [r.dev, r.site, r.district, stateText(r.state)].filter(Boolean).join(' · ');
    const text = r.site ? `${r.dev} ${r.site}` : r.dev;
    // Labels point inwards, so those of the stations at the edges stay in the frame.
    const right = x(e) <= W / 2;
    const width = textWidth(text);
    const x0 = right ? x(e) + 12 : x(e) - 12 - width;
    let ly = y(n) + 4;
    while (labels.some((b) => b.x0 < x0 + width && x0 < b.x1 && Math.abs(b.y - ly) < LINE)) ly += LINE;
    labels.push({ x0, x1: x0 + width, y: ly });
    parts.push(
      `<a href="#dev=${encodeURIComponent(r.dev)}" data-station="${esc(r.dev)}"><title>${esc(tip)}</title>` +
        (r.openAlarms ? `<circle class="alarm-ring" cx="${x(e)}" cy="${y(n)}" r="13"/>` : '') +
        `<circle class="station" cx="${x(e)}" cy="${y(n)}" r="8" fill="${fill}"/>` +
        `<text class="station-label" x="${Math.round(right ? x0 : x0 + width)}" y="${ly}"${right ? '' : ' text-anchor="end"'}>${esc(text)}</text></a>`,
    );
  }
  // The legend, beside the map: what each state's colour means (an air device with an hourly AQI takes its colour instead).
  const states = Object.keys(STATE_RGB) as DeviceState[];
  states.forEach((st, i) =>
    parts.push(
      `<circle cx="${W + 16}" cy="${20 + i * 18}" r="5" fill="${STATE_RGB[st]}"/>`,
      `<text class="tick" x="${W + 26}" y="${24 + i * 18}">${esc(stateText(st))}</text>`,
    ),
  );
  return `<svg class="map" viewBox="0 0 ${W + LEGEND_W} ${H}" width="${W + LEGEND_W}" height="${H}" role="img">${parts.join('')}</svg>`;
}
