import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { renderPlaceholderPng, wrapText } from '../../sim/png.js';
import { findFfmpeg, renderPlaceholderMp4 } from '../../sim/video.js';
import { countMp4Frames, readMp4Boxes } from '../../sim/mp4.js';

const base = { width: 64, height: 48, prompt: 'a red fox in the snow', seed: 42 };

describe('renderPlaceholderPng', () => {
  it('decodes at exactly the requested size', () => {
    for (const [width, height] of [
      [64, 48],
      [33, 17],
      [480, 832],
      [1, 1],
    ] as const) {
      const png = PNG.sync.read(renderPlaceholderPng({ ...base, width, height }));
      expect([png.width, png.height]).toEqual([width, height]);
    }
  });

  it('is deterministic: same inputs give identical bytes', () => {
    const a = renderPlaceholderPng({ ...base, index: 2, label: 'x' });
    const b = renderPlaceholderPng({ ...base, index: 2, label: 'x' });
    expect(a.equals(b)).toBe(true);
  });

  it('changes with the seed, the index and the prompt', () => {
    const a = renderPlaceholderPng(base);
    expect(a.equals(renderPlaceholderPng({ ...base, seed: 43 }))).toBe(false);
    expect(a.equals(renderPlaceholderPng({ ...base, index: 1 }))).toBe(false);
    expect(a.equals(renderPlaceholderPng({ ...base, prompt: 'a blue fox' }))).toBe(false);
  });

  it('draws the caption in near-white on the bottom band only', () => {
    const png = PNG.sync.read(renderPlaceholderPng({ ...base, width: 480, height: 200 }));
    const whiteIn = (y0: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = 0; x < png.width; x++) {
          const p = (y * png.width + x) * 4;
          if (png.data[p]! > 240 && png.data[p + 1]! > 240 && png.data[p + 2]! > 240) n++;
        }
      }
      return n;
    };
    expect(whiteIn(png.height - 30, png.height)).toBeGreaterThan(50);
    expect(whiteIn(0, 30)).toBe(0);
  });

  it('copes with long, non-ASCII and empty prompts', () => {
    const long = 'ünïcødé 🦊 '.repeat(500) + 'x'.repeat(3000);
    expect(PNG.sync.read(renderPlaceholderPng({ ...base, prompt: long })).width).toBe(64);
    expect(PNG.sync.read(renderPlaceholderPng({ ...base, prompt: '' })).width).toBe(64);
  });

  it('rejects impossible sizes', () => {
    expect(() => renderPlaceholderPng({ ...base, width: 0 })).toThrow(RangeError);
    expect(() => renderPlaceholderPng({ ...base, width: 10.5 })).toThrow(RangeError);
  });
});

describe('wrapText', () => {
  it('wraps on words, hard-breaks long words and marks truncation', () => {
    expect(wrapText('one two three four', 9, 5)).toEqual(['one two', 'three', 'four']);
    expect(wrapText('abcdefghijkl', 5, 5)).toEqual(['abcde', 'fghij', 'kl']);
    expect(wrapText('one two three four five six', 9, 2)).toEqual(['one two', 'three...']);
    expect(wrapText('  ', 9, 2)).toEqual([]);
  });
});

describe('renderPlaceholderMp4', () => {
  it('finds an ffmpeg with libx264', async () => {
    await expect(findFfmpeg()).resolves.toEqual(expect.any(String));
  });

  it('writes an MP4 (ftyp first, moov present) with exactly N frames', async () => {
    const mp4 = await renderPlaceholderMp4({ width: 64, height: 48, frames: 5, prompt: 'waves', seed: 7 });
    const boxes = readMp4Boxes(mp4).map((b) => b.type);
    expect(boxes[0]).toBe('ftyp');
    expect(boxes).toContain('moov');
    expect(boxes).toContain('mdat');
    // faststart: the index comes before the media data.
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    expect(countMp4Frames(mp4)).toBe(5);
  });

  it('handles a single frame and a different fps', async () => {
    const mp4 = await renderPlaceholderMp4({ width: 32, height: 32, frames: 1, fps: 24, prompt: 'x', seed: 1 });
    expect(countMp4Frames(mp4)).toBe(1);
  });

  it('renders the fleet default 480x832 with 83 frames', async () => {
    const started = Date.now();
    const mp4 = await renderPlaceholderMp4({
      width: 480,
      height: 832,
      frames: 83,
      prompt: 'a lighthouse on a cliff at dusk, waves crashing below',
      seed: 123456789,
    });
    expect(countMp4Frames(mp4)).toBe(83);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('rejects odd sizes and bad frame counts before starting ffmpeg', async () => {
    await expect(renderPlaceholderMp4({ width: 63, height: 48, frames: 5, prompt: '', seed: 1 })).rejects.toThrow(
      /even/,
    );
    await expect(renderPlaceholderMp4({ width: 64, height: 48, frames: 0, prompt: '', seed: 1 })).rejects.toThrow(
      /frames/,
    );
  });
});

describe('countMp4Frames', () => {
  it('throws on something that is not an MP4', () => {
    expect(() => countMp4Frames(Buffer.from('not an mp4 at all'))).toThrow(/mp4/);
    expect(() => countMp4Frames(renderPlaceholderPng(base))).toThrow(/mp4/);
  });
});
