/**
 * Deterministic placeholder pictures for the simulator worker.
 *
 * Everything here is pure integer/float arithmetic on the inputs (no clock, no
 * Math.random), so the same options always give the same pixels, and pngjs's
 * encoder writes no timestamps, so the same options give the same PNG bytes.
 */
import { PNG } from 'pngjs';

export interface PlaceholderOptions {
  width: number;
  height: number;
  prompt: string;
  seed: number;
  /** Position in a batch (SDXL 1/3/6 images); changes the picture. */
  index?: number;
  /** Extra line printed under the seed, e.g. the job type. */
  label?: string;
}

export interface FrameOptions extends PlaceholderOptions {
  /** Frame number for animated output; the pattern moves with it. */
  frame?: number;
  /** Total frames; with `frame`, sets the animation phase. */
  frames?: number;
}

// ---------------------------------------------------------------------------
// 5x7 bitmap font for printable ASCII (32..126). Each glyph is five column
// bytes, left to right; bit 0 is the top row. Glyph c starts at (c - 32) * 5.
// ---------------------------------------------------------------------------
const TABLE =
  '0000000000' + // space
  '00005f0000' + // !
  '0007000700' + // "
  '147f147f14' + // #
  '242a7f2a12' + // $
  '2313086462' + // %
  '3649552250' + // &
  '0005030000' + // '
  '001c224100' + // (
  '0041221c00' + // )
  '082a1c2a08' + // *
  '08083e0808' + // +
  '0050300000' + // ,
  '0808080808' + // -
  '0060600000' + // .
  '2010080402' + // /
  '3e5149453e' + // 0
  '00427f4000' + // 1
  '4261514946' + // 2
  '2141454b31' + // 3
  '1814127f10' + // 4
  '2745454539' + // 5
  '3c4a494930' + // 6
  '0171090503' + // 7
  '3649494936' + // 8
  '064949291e' + // 9
  '0036360000' + // :
  '0056360000' + // ;
  '0814224100' + // <
  '1414141414' + // =
  '0041221408' + // >
  '0201510906' + // ?
  '324979413e' + // @
  '7e1111117e' + // A
  '7f49494936' + // B
  '3e41414122' + // C
  '7f4141221c' + // D
  '7f49494941' + // E
  '7f09090101' + // F
  '3e41415132' + // G
  '7f0808087f' + // H
  '00417f4100' + // I
  '2040413f01' + // J
  '7f08142241' + // K
  '7f40404040' + // L
  '7f0204027f' + // M
  '7f0408107f' + // N
  '3e4141413e' + // O
  '7f09090906' + // P
  '3e4151215e' + // Q
  '7f09192946' + // R
  '4649494931' + // S
  '01017f0101' + // T
  '3f4040403f' + // U
  '1f2040201f' + // V
  '7f2018207f' + // W
  '6314081463' + // X
  '0304780403' + // Y
  '6151494543' + // Z
  '007f414100' + // [
  '0204081020' + // backslash
  '0041417f00' + // ]
  '0402010204' + // ^
  '4040404040' + // _
  '0001020400' + // `
  '2054545478' + // a
  '7f48444438' + // b
  '3844444420' + // c
  '384444487f' + // d
  '3854545418' + // e
  '087e090102' + // f
  '0c5252523e' + // g
  '7f08040478' + // h
  '00447d4000' + // i
  '2040443d00' + // j
  '007f102844' + // k
  '00417f4000' + // l
  '7c04180478' + // m
  '7c08040478' + // n
  '3844444438' + // o
  '7c14141408' + // p
  '081414187c' + // q
  '7c08040408' + // r
  '4854545420' + // s
  '043f444020' + // t
  '3c4040207c' + // u
  '1c2040201c' + // v
  '3c4030403c' + // w
  '4428102844' + // x
  '0c5050503c' + // y
  '4464544c44' + // z
  '0008364100' + // {
  '00007f0000' + // |
  '0041360800' + // }
  '0804081008'; //  ~

const GLYPH_W = 5;
const GLYPH_H = 7;
const GLYPHS: Uint8Array = Uint8Array.from(TABLE.match(/../g) ?? [], (h) => parseInt(h, 16));

function glyph(code: number): Uint8Array {
  const c = code >= 32 && code <= 126 ? code : 63; // anything else draws as '?'
  return GLYPHS.subarray((c - 32) * GLYPH_W, (c - 32) * GLYPH_W + GLYPH_W);
}

// ---------------------------------------------------------------------------
// Hashing and a small seeded PRNG (mulberry32), all 32-bit integer maths.
// ---------------------------------------------------------------------------

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rgb = [number, number, number];

function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

// ---------------------------------------------------------------------------
// Text layout
// ---------------------------------------------------------------------------

/** ASCII-only, single-spaced text: other characters become '?', whitespace runs one space. */
function clean(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[^\x20-\x7e]/gu, '?');
}

/** Word-wraps to `cols` columns and at most `maxLines` lines, ending with "..." when cut. */
export function wrapText(text: string, cols: number, maxLines: number): string[] {
  if (cols < 1 || maxLines < 1) return [];
  const all: string[] = [];
  let line = '';
  for (const word of clean(text).split(' ')) {
    let w = word;
    // A word longer than a whole line is hard-broken.
    while (w.length > cols) {
      if (line) all.push(line);
      line = '';
      all.push(w.slice(0, cols));
      w = w.slice(cols);
    }
    if (!w) continue;
    if (!line) line = w;
    else if (line.length + 1 + w.length <= cols) line += ` ${w}`;
    else {
      all.push(line);
      line = w;
    }
    // Long prompts: no need to lay out more than we can show.
    if (all.length > maxLines) break;
  }
  if (line) all.push(line);
  if (all.length <= maxLines) return all;
  const kept = all.slice(0, maxLines);
  const last = kept[maxLines - 1]!;
  kept[maxLines - 1] =
    cols < 4 ? last.slice(0, cols) : last.length + 3 <= cols ? `${last}...` : `${last.slice(0, cols - 3)}...`;
  return kept;
}

// ---------------------------------------------------------------------------
// Painting
// ---------------------------------------------------------------------------

const MAX_SIDE = 8192;

function checkSize(width: number, height: number): void {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > MAX_SIDE ||
    height > MAX_SIDE
  ) {
    throw new RangeError(`placeholder size must be whole numbers in 1..${MAX_SIDE}, got ${width}x${height}`);
  }
}

interface Scene {
  c1: Rgb;
  c2: Rgb;
  accent: Rgb;
  ax: number;
  ay: number;
  periods: number;
  pattern: number;
  cell: number;
  discs: { x: number; y: number; r: number; turn: number }[];
}

const DIRECTIONS: readonly [number, number][] = [
  [1, 0],
  [0, 1],
  [1, 1],
  [1, -1],
  [2, 1],
  [1, 2],
  [-1, 2],
  [2, -1],
];

function sceneFor(o: PlaceholderOptions): Scene {
  const rnd = mulberry32(fnv1a(`${o.seed}\u0000${o.index ?? 0}\u0000${o.prompt}`));
  const hue = rnd() * 360;
  const c1 = hsl(hue, 0.5 + rnd() * 0.3, 0.28 + rnd() * 0.14);
  const c2 = hsl((hue + 60 + rnd() * 120) % 360, 0.5 + rnd() * 0.3, 0.55 + rnd() * 0.15);
  const accent = hsl((hue + 150 + rnd() * 60) % 360, 0.85, 0.62);
  const [ax, ay] = DIRECTIONS[Math.floor(rnd() * DIRECTIONS.length)]!;
  const periods = 1 + Math.floor(rnd() * 2);
  const pattern = Math.floor(rnd() * 3);
  const side = Math.min(o.width, o.height);
  const cell = Math.max(2, Math.round(side * (0.03 + rnd() * 0.05)));
  const discs = [0, 1, 2].map(() => ({
    x: rnd() * o.width,
    y: rnd() * o.height * 0.6,
    r: Math.max(1, side * (0.07 + rnd() * 0.13)),
    turn: rnd(),
  }));
  return { c1, c2, accent, ax, ay, periods, pattern, cell, discs };
}

/** Scale of the 5x7 font for a picture of this size: 1 for thumbnails, up to 4 for 1024 px. */
function fontScale(width: number, height: number): number {
  return Math.max(1, Math.min(4, Math.floor(Math.min(width, height * 1.2) / 160)));
}

/**
 * Paints the placeholder as packed RGB24 (width × height × 3 bytes). With
 * `frame`/`frames` the background, pattern and discs move a full cycle over
 * the frames, so consecutive video frames differ visibly.
 */
export function paintPlaceholderRgb(o: FrameOptions): Buffer {
  const w = o.width;
  const h = o.height;
  checkSize(w, h);
  const out = Buffer.alloc(w * h * 3);
  const sc = sceneFor(o);
  const frames = o.frames !== undefined && o.frames > 0 ? o.frames : 1;
  const phase = (((o.frame ?? 0) % frames) + frames) % frames / frames;

  // Background: a triangle-wave gradient along (ax, ay), darkened on a pattern.
  const { ax, ay, periods, pattern, cell } = sc;
  const span = Math.abs(ax) * (w - 1) + Math.abs(ay) * (h - 1) || 1;
  const off = (ax < 0 ? -ax * (w - 1) : 0) + (ay < 0 ? -ay * (h - 1) : 0);
  const shift = Math.floor(phase * cell * 2);
  const [r1, g1, b1] = sc.c1;
  const dr = sc.c2[0] - r1;
  const dg = sc.c2[1] - g1;
  const db = sc.c2[2] - b1;
  let i = 0;
  for (let y = 0; y < h; y++) {
    const rowCell = Math.floor(y / cell);
    for (let x = 0; x < w; x++) {
      let t = ((ax * x + ay * y + off) / span) * periods + phase;
      t -= Math.floor(t);
      const v = t < 0.5 ? t * 2 : 2 - t * 2;
      let bit: number;
      if (pattern === 0) bit = Math.floor((x + y + shift) / cell) & 1;
      else if (pattern === 1) bit = (Math.floor((x + shift) / cell) ^ rowCell) & 1;
      else bit = Math.floor((y + shift) / cell) & 1;
      const k = bit ? 0.86 : 1;
      out[i++] = (r1 + dr * v) * k;
      out[i++] = (g1 + dg * v) * k;
      out[i++] = (b1 + db * v) * k;
    }
  }

  // Discs in the accent colour, each orbiting its home point once per cycle.
  const orbit = Math.min(w, h) * 0.08;
  const [ar, ag, ab] = sc.accent;
  for (const d of sc.discs) {
    const angle = 2 * Math.PI * (phase + d.turn);
    const cx = d.x + (frames > 1 ? orbit * Math.cos(angle) : 0);
    const cy = d.y + (frames > 1 ? orbit * Math.sin(angle) : 0);
    const r2 = d.r * d.r;
    const y0 = Math.max(0, Math.floor(cy - d.r));
    const y1 = Math.min(h - 1, Math.ceil(cy + d.r));
    const x0 = Math.max(0, Math.floor(cx - d.r));
    const x1 = Math.min(w - 1, Math.ceil(cx + d.r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const ex = x + 0.5 - cx;
        const ey = y + 0.5 - cy;
        if (ex * ex + ey * ey > r2) continue;
        const p = (y * w + x) * 3;
        out[p] = out[p]! * 0.55 + ar * 0.45;
        out[p + 1] = out[p + 1]! * 0.55 + ag * 0.45;
        out[p + 2] = out[p + 2]! * 0.55 + ab * 0.45;
      }
    }
  }

  drawCaption(out, w, h, o);
  return out;
}

/** The prompt, "seed <n>" and the label, white on a darkened band at the bottom. */
function drawCaption(out: Buffer, w: number, h: number, o: FrameOptions): void {
  const s = fontScale(w, h);
  const cellW = (GLYPH_W + 1) * s;
  const lineH = (GLYPH_H + 2) * s;
  const pad = 2 * s;
  const cols = Math.floor((w - 2 * pad + s) / cellW);
  const avail = Math.floor((h - 2 * pad + 2 * s) / lineH);
  if (cols < 1 || avail < 1) return;

  const fixed = [`seed ${o.seed}`];
  if (o.label) fixed.push(clean(o.label));
  const budget = Math.min(avail, Math.max(2, Math.floor((h * 0.6) / lineH)));
  const promptLines = wrapText(o.prompt, cols, Math.min(8, Math.max(0, budget - fixed.length)));
  const lines = [...promptLines, ...fixed]
    .slice(0, avail)
    .map((l) => (l.length > cols ? l.slice(0, cols) : l));

  const panelH = lines.length * lineH - 2 * s + 2 * pad;
  const top = h - panelH;
  for (let p = top * w * 3; p < out.length; p++) out[p] = (out[p]! * 90) >> 8;

  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!;
    const y0 = top + pad + li * lineH;
    for (let ci = 0; ci < line.length; ci++) {
      const g = glyph(line.charCodeAt(ci));
      const x0 = pad + ci * cellW;
      for (let gx = 0; gx < GLYPH_W; gx++) {
        const bits = g[gx]!;
        if (!bits) continue;
        for (let gy = 0; gy < GLYPH_H; gy++) {
          if (!((bits >> gy) & 1)) continue;
          fillRect(out, w, h, x0 + gx * s, y0 + gy * s, s, 245);
        }
      }
    }
  }
}

function fillRect(out: Buffer, w: number, h: number, x0: number, y0: number, size: number, value: number): void {
  for (let y = Math.max(0, y0); y < Math.min(h, y0 + size); y++) {
    for (let x = Math.max(0, x0); x < Math.min(w, x0 + size); x++) {
      const p = (y * w + x) * 3;
      out[p] = value;
      out[p + 1] = value;
      out[p + 2] = value;
    }
  }
}

/**
 * A deterministic PNG of exactly width × height: a background derived from a
 * hash of (seed, prompt, index) with the prompt (wrapped, truncated), "seed <n>"
 * and the optional label drawn on it. Same options → identical bytes.
 */
export function renderPlaceholderPng(opts: PlaceholderOptions): Buffer {
  const rgb = paintPlaceholderRgb(opts);
  const png = new PNG({ width: opts.width, height: opts.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = rgb;
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}
