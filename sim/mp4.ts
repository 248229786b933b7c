/**
 * A tiny ISO-BMFF (MP4) box walker: enough to check that a file is an MP4 and
 * to count the samples (frames) of its video track without an ffprobe.
 */

export interface Mp4Box {
  /** Four-character box type, e.g. "ftyp", "moov". */
  type: string;
  /** Offset of the box header in the buffer. */
  start: number;
  /** Offset of the box payload (after the 8- or 16-byte header). */
  payload: number;
  /** Offset just past the box. */
  end: number;
}

/** The boxes laid out one after another in buf[from, to). Throws on a box that runs past `to`. */
export function readMp4Boxes(buf: Buffer, from = 0, to = buf.length): Mp4Box[] {
  const boxes: Mp4Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) throw new Error(`mp4: truncated 64-bit size of box "${type}" at ${at}`);
      const big = buf.readBigUInt64BE(at + 8);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`mp4: box "${type}" at ${at} is too large`);
      size = Number(big);
      header = 16;
    } else if (size === 0) {
      size = to - at; // "extends to the end of the file"
    }
    if (size < header || at + size > to) {
      throw new Error(`mp4: box "${type}" at ${at} has size ${size}, past the end (${to})`);
    }
    boxes.push({ type, start: at, payload: at + header, end: at + size });
    at += size;
  }
  return boxes;
}

function child(buf: Buffer, parent: Mp4Box, type: string): Mp4Box | undefined {
  return readMp4Boxes(buf, parent.payload, parent.end).find((b) => b.type === type);
}

function path(buf: Buffer, parent: Mp4Box, types: string[]): Mp4Box | undefined {
  let box: Mp4Box | undefined = parent;
  for (const t of types) {
    if (!box) return undefined;
    box = child(buf, box, t);
  }
  return box;
}

/**
 * Number of samples (frames) in the first video track, read from its sample
 * size box (`stsz`, or the compact `stz2`). Throws when the buffer is not an
 * MP4 with a video track.
 */
export function countMp4Frames(buf: Buffer): number {
  const moov = readMp4Boxes(buf).find((b) => b.type === 'moov');
  if (!moov) throw new Error('mp4: no "moov" box');
  for (const trak of readMp4Boxes(buf, moov.payload, moov.end).filter((b) => b.type === 'trak')) {
    const hdlr = path(buf, trak, ['mdia', 'hdlr']);
    // hdlr payload: version+flags (4), pre_defined (4), handler_type (4)
    if (!hdlr || hdlr.payload + 12 > hdlr.end) continue;
    if (buf.toString('latin1', hdlr.payload + 8, hdlr.payload + 12) !== 'vide') continue;
    const stbl = path(buf, trak, ['mdia', 'minf', 'stbl']);
    if (!stbl) throw new Error('mp4: video track without a sample table');
    const stsz = child(buf, stbl, 'stsz');
    // stsz payload: version+flags (4), sample_size (4), sample_count (4)
    if (stsz && stsz.payload + 12 <= stsz.end) return buf.readUInt32BE(stsz.payload + 8);
    const stz2 = child(buf, stbl, 'stz2');
    // stz2 payload: version+flags (4), reserved (3) + field_size (1), sample_count (4)
    if (stz2 && stz2.payload + 12 <= stz2.end) return buf.readUInt32BE(stz2.payload + 8);
    throw new Error('mp4: video track has no sample size box');
  }
  throw new Error('mp4: no video track');
}
