/** Short, locale-aware wording for times and durations. */

export function seconds(s: number): string {
  if (s < 1) return `${Math.round(s * 10) / 10} s`;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 360) / 10} h`;
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "in 40 s", "now" */
export function fromNow(iso: string, now: number): string {
  const s = (new Date(iso).getTime() - now) / 1000;
  return s <= 1 ? 'any moment' : `in ${seconds(s)}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** sdxl_image_fast → "SDXL image, fast"; video7b_high_enhanced → "Video 7B, high, enhanced" */
export function jobTypeName(t: string): string {
  const parts = t.split('_');
  const head = parts[0]!;
  const words: string[] = [];
  if (head === 'sdxl') words.push(`SDXL ${parts[1]}`, ...parts.slice(2));
  else {
    const m = /^(image|video)(7b)?$/.exec(head);
    words.push(m ? `${m[1]![0]!.toUpperCase()}${m[1]!.slice(1)}${m[2] ? ' 7B' : ''}` : head, ...parts.slice(1));
  }
  return words.join(', ');
}
