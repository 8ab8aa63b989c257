/** One curve family: the latency percentiles of a series of steps at rising offered rates. */
export interface ChartSeries {
  name: string;
  points: { rate: number; p50: number; p95: number; p99: number }[];
}

export interface ChartOptions {
  title: string;
  series: ChartSeries[];
  /** A horizontal line (the p95 target), ms. */
  limitMs?: number;
  width?: number;
  height?: number;
}

const PERCENTILES = [
  { key: 'p50', color: '#2f9e44' },
  { key: 'p95', color: '#e8590c' },
  { key: 'p99', color: '#c92a2a' },
] as const;
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (value: number) => Number(value.toFixed(1));

/** 1, 2, 5, 10, 20, 50, ... covering [low, high]. */
function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(low)); decade <= high; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const tick = decade * step;
      if (tick >= low && tick <= high) ticks.push(tick);
    }
  }
  return ticks;
}

/** The smallest of 1, 2, 5 x 10^n at or above `value`. */
function niceAbove(value: number): number {
  const decade = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((step) => step * decade >= value) ?? 10) * decade;
}

/** About `count` round steps from 0 to at least `max`. */
function linearTicks(max: number, count = 6): number[] {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((factor) => factor * magnitude >= raw) ?? 10) * magnitude;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

/**
 * Latency percentiles (log scale) against offered rate, one colour per percentile and one dash
 * pattern per series (full stack solid, baseline dashed), as a standalone SVG document.
 */
export function latencyChart(options: ChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 440;
  const margin = { left: 64, right: 170, top: 48, bottom: 56 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const points = options.series.flatMap((series) => series.points);
  const values = points.flatMap((point) => [point.p50, point.p95, point.p99]).filter((value) => value > 0);
  const maxRate = Math.max(1, ...points.map((point) => point.rate));
  const xTicks = linearTicks(maxRate * 1.05);
  const xMax = xTicks[xTicks.length - 1] as number;
  const yLow = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values, options.limitMs ?? Infinity, 1))));
  const yHigh = niceAbove(Math.max(...values, options.limitMs ?? 0, yLow * 10));
  const x = (rate: number) => margin.left + (rate / xMax) * plotWidth;
  const y = (ms: number) =>
    margin.top +
    plotHeight -
    ((Math.log10(Math.max(ms, yLow)) - Math.log10(yLow)) / Math.log10(yHigh / yLow)) * plotHeight;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    // The accessible name of the picture (screen readers, and Biome's a11y check of committed SVGs).
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="26" font-size="15" font-weight="600">${escapeXml(options.title)}</text>`,
  ];
  for (const tick of logTicks(yLow, yHigh)) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}" stroke="#e9ecef"/>`,
      `<text x="${margin.left - 8}" y="${fixed(y(tick) + 4)}" text-anchor="end" fill="#495057">${tick}</text>`,
    );
  }
  for (const tick of xTicks) {
    parts.push(
      `<line x1="${fixed(x(tick))}" x2="${fixed(x(tick))}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#f1f3f5"/>`,
      `<text x="${fixed(x(tick))}" y="${margin.top + plotHeight + 18}" text-anchor="middle" fill="#495057">${tick}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#adb5bd"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${height - 14}" text-anchor="middle">offered rate (requests/s)</text>`,
    `<text transform="translate(18 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`,
  );
  if (options.limitMs !== undefined) {
    const at = fixed(y(options.limitMs));
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${at}" y2="${at}" stroke="#868e96" stroke-dasharray="3 3"/>`,
      `<text x="${margin.left + plotWidth - 4}" y="${at - 4}" text-anchor="end" fill="#868e96">${options.limitMs} ms</text>`,
    );
  }
  const legend: string[] = [];
  options.series.forEach((series, s) => {
    const dash = DASHES[s % DASHES.length] as string;
    const sorted = [...series.points].sort((a, b) => a.rate - b.rate);
    for (const { key, color } of PERCENTILES) {
      const path = sorted.map((point) => `${fixed(x(point.rate))},${fixed(y(point[key]))}`).join(' ');
      parts.push(
        `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
        ...sorted.map(
          (point) => `<circle cx="${fixed(x(point.rate))}" cy="${fixed(y(point[key]))}" r="2.5" fill="${color}"/>`,
        ),
      );
      const row = legend.length;
      const ly = margin.top + 8 + row * 20;
      const lx = margin.left + plotWidth + 16;
      legend.push(
        `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
        `<text x="${lx + 36}" y="${ly + 4}">${escapeXml(`${series.name} ${key}`)}</text>`,
      );
    }
  });
  parts.push(...legend, '</svg>', '');
  return parts.join('\n');
}
