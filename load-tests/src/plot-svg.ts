// A hand-written SVG line chart for the rate mode's timeline: panels stacked vertically, each
// with its own y axis (linear, from 0 to a "nice" maximum), a shared x axis in seconds, one
// polyline per series and a legend. Each series is a <g class="series" data-series="<key>">, so
// tools (and the tests) can find it. A null value breaks the line.

export interface PlotSeries {
  key: string;
  label: string;
  color: string;
  values: Array<number | null>;
}

export interface PlotPanel {
  title: string;
  unit: string;
  series: PlotSeries[];
}

export interface PlotSpec {
  title: string;
  /** x values (seconds), one per point of every series. */
  x: number[];
  panels: PlotPanel[];
}

const WIDTH = 860;
const PANEL_H = 190;
const GAP = 56;
const LEFT = 70;
const RIGHT = 150;
const TOP = 40;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 1, 2 or 5 times a power of ten, at least `x` (x > 0). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

const fmt = (v: number): string =>
  v >= 1e6 ? `${+(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(3)}`;

function panel(spec: PlotSpec, p: PlotPanel, top: number, xMax: number): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const values = p.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const yMax = niceCeil(Math.max(0, ...values));
  const sx = (x: number): number => LEFT + (xMax > 0 ? (x / xMax) * plotW : 0);
  const sy = (y: number): number => top + PANEL_H - (y / yMax) * PANEL_H;
  const out: string[] = [`<g class="panel" data-title="${esc(p.title)}">`];
  out.push(`<text x="${LEFT}" y="${top - 8}" class="ptitle">${esc(p.title)} (${esc(p.unit)})</text>`);
  for (let k = 0; k <= 4; k++) {
    const y = (yMax * k) / 4;
    const py = sy(y).toFixed(1);
    out.push(`<line x1="${LEFT}" y1="${py}" x2="${LEFT + plotW}" y2="${py}" class="grid"/>`);
    out.push(`<text x="${LEFT - 6}" y="${py}" class="ylab">${fmt(y)}</text>`);
  }
  const xStep = niceCeil(xMax / 10);
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    out.push(`<text x="${sx(x).toFixed(1)}" y="${top + PANEL_H + 16}" class="xlab">${fmt(x)}</text>`);
  }
  out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" class="frame"/>`);
  p.series.forEach((s, i) => {
    const segments: string[][] = [[]];
    s.values.forEach((v, j) => {
      if (v === null || !Number.isFinite(v)) {
        if (segments[segments.length - 1].length > 0) segments.push([]);
      } else {
        segments[segments.length - 1].push(`${sx(spec.x[j]).toFixed(1)},${sy(v).toFixed(1)}`);
      }
    });
    out.push(`<g class="series" data-series="${esc(s.key)}">`);
    for (const seg of segments) {
      if (seg.length === 1) {
        const [cx, cy] = seg[0].split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="2" fill="${s.color}"/>`);
      } else if (seg.length > 1) {
        out.push(`<polyline points="${seg.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
      }
    }
    const ly = top + 14 + i * 18;
    out.push(`<line x1="${LEFT + plotW + 12}" y1="${ly - 4}" x2="${LEFT + plotW + 30}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${LEFT + plotW + 36}" y="${ly}" class="legend">${esc(s.label)}</text>`);
    out.push('</g>');
  });
  out.push('</g>');
  return out.join('\n');
}

/** The whole chart as an SVG document. */
export function renderPlot(spec: PlotSpec): string {
  const height = TOP + spec.panels.length * (PANEL_H + GAP) + 10;
  const xMax = Math.max(1, ...spec.x);
  const body = spec.panels.map((p, i) => panel(spec, p, TOP + 20 + i * (PANEL_H + GAP), xMax)).join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    '<style>.grid{stroke:#ddd;stroke-width:1}.frame{fill:none;stroke:#888}.ylab{text-anchor:end;dominant-baseline:middle;fill:#444}.xlab{text-anchor:middle;fill:#444}.ptitle{font-weight:bold;fill:#222}.legend{fill:#222}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
    body,
    `<text x="${LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="${height - 8}" class="xlab">seconds since the start of the ramp</text>`,
    '</svg>',
    '',
  ].join('\n');
}
