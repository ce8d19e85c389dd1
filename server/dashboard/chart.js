// @ts-check
// A small SVG step chart (stock is a step function of time). No dependency: a few hundred points
// per series at most, redrawn on change.

import { clock } from './format.js';

const NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f', '#9333ea', '#ea580c', '#0f766e', '#64748b'];

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {string} [text]
 */
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The color of the `index`-th series (series are sorted by meal id, so colors are stable). */
/** @param {number} index */
export function colorOf(index) {
  return PALETTE[index % PALETTE.length] ?? '#64748b';
}

/**
 * Draws `series` ([{name, points: [[ms, value], ...]}]) into `svg` between `from` and `to` (ms).
 * Values are held until the next point (step); the last value extends to `to`.
 * @param {SVGSVGElement} svg
 * @param {Array<{ name: string, points: Array<[number, number]> }>} series
 * @param {{ from: number, to: number, timeZone: string | undefined, title: string }} o
 */
export function drawStepChart(svg, series, { from, to, timeZone, title }) {
  const W = 640;
  const H = 220;
  const pad = { l: 36, r: 12, t: 10, b: 26 };
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  svg.replaceChildren();
  let max = 1;
  for (const se of series) for (const [, v] of se.points) max = Math.max(max, v);
  max = Math.ceil(max * 1.1);
  const span = Math.max(1, to - from);
  const x = (/** @type {number} */ t) => pad.l + ((t - from) / span) * (W - pad.l - pad.r);
  const y = (/** @type {number} */ v) => H - pad.b - (v / max) * (H - pad.t - pad.b);
  const grid = s('g', { class: 'grid' });
  const yStep = Math.max(1, Math.ceil(max / 4));
  for (let v = 0; v <= max; v += yStep) {
    grid.append(s('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v) }));
    grid.append(s('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = from + (span * i) / 4;
    grid.append(s('text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, clock(t, timeZone)));
  }
  svg.append(grid);
  series.forEach((se, i) => {
    if (se.points.length === 0) return;
    let d = '';
    let prev;
    for (const [t, v] of se.points) {
      const px = x(Math.max(from, t));
      d += prev === undefined ? `M${px.toFixed(1)},${y(v).toFixed(1)}` : `H${px.toFixed(1)}V${y(v).toFixed(1)}`;
      prev = v;
    }
    d += `H${x(to).toFixed(1)}`;
    svg.append(s('path', { d, fill: 'none', stroke: colorOf(i), 'stroke-width': 2, 'data-series': se.name }, undefined));
  });
}

/**
 * Client-side history of values per key, fed from each venue update (the feed carries changes,
 * not history). Bounded: at most `maxPoints` per key, so a tab left open for days stays small.
 */
export class History {
  constructor(maxPoints = 600) {
    this.maxPoints = maxPoints;
    /** @type {Map<string, Array<[number, number]>>} */
    this.series = new Map();
  }
  /** Records `value` for `key` at `t` when it differs from the last recorded value. */
  /**
   * @param {string} key
   * @param {number} t
   * @param {number} value
   */
  record(key, t, value) {
    let pts = this.series.get(key);
    if (pts === undefined) {
      pts = [];
      this.series.set(key, pts);
    }
    const last = pts[pts.length - 1];
    if (last !== undefined && last[1] === value) return;
    pts.push([t, value]);
    if (pts.length > this.maxPoints) pts.splice(0, pts.length - this.maxPoints);
  }
  /** @param {string} key */
  points(key) {
    return this.series.get(key) ?? [];
  }
}
