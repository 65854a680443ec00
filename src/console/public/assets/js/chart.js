import { h } from './dom.js';

const COLORS = ['#c0392b', '#2471a3', '#d68910', '#1e8449', '#7d3c98', '#5d6d7e'];

/** The colour of the i-th series (the legend uses the same). */
export const colorOf = (i) => COLORS[i % COLORS.length];

/**
 * A line chart as SVG elements (no inline script or style: allowed by the console's CSP).
 * @param series [{ label, values: number[] }], all of the same length (one value per time bucket)
 * @param labels text under the first and last bucket
 */
export function lineChart(series, labels, { width = 720, height = 220 } = {}) {
  const pad = { left: 36, right: 12, top: 12, bottom: 28 };
  const n = series[0]?.values.length ?? 0;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i) => pad.left + (n <= 1 ? 0 : (i * (width - pad.left - pad.right)) / (n - 1));
  const y = (v) => height - pad.bottom - (v * (height - pad.top - pad.bottom)) / max;
  return h(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': 'Refusals over time',
      class: 'chart',
    },
    h('line', { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), stroke: '#999' }),
    h('line', { x1: pad.left, y1: pad.top, x2: pad.left, y2: y(0), stroke: '#999' }),
    h('text', { x: 4, y: pad.top + 10, 'font-size': 11, fill: '#555' }, String(max)),
    h('text', { x: 4, y: y(0), 'font-size': 11, fill: '#555' }, '0'),
    h('text', { x: pad.left, y: height - 8, 'font-size': 11, fill: '#555' }, labels[0]),
    h('text', { x: width - pad.right, y: height - 8, 'font-size': 11, fill: '#555', 'text-anchor': 'end' }, labels[1]),
    series.map((s, i) =>
      h(
        'g',
        {},
        h('polyline', {
          points: s.values.map((v, j) => `${x(j)},${y(v)}`).join(' '),
          fill: 'none',
          stroke: colorOf(i),
          'stroke-width': 2,
        }),
        s.values.map((v, j) =>
          v > 0
            ? h('circle', { cx: x(j), cy: y(v), r: 3, fill: colorOf(i) }, h('title', {}, `${s.label}: ${v}`))
            : null,
        ),
      ),
    ),
  );
}

/** A tiny line of one series, for a table row. */
export function sparkline(values, color) {
  const width = 120;
  const height = 24;
  const max = Math.max(1, ...values);
  const points = values
    .map((v, i) => `${(i * width) / Math.max(1, values.length - 1)},${height - 2 - (v * (height - 4)) / max}`)
    .join(' ');
  return h(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, width, height, class: 'spark' },
    h('polyline', { points, fill: 'none', stroke: color, 'stroke-width': 1.5 }),
  );
}
