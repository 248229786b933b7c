/**
 * Whole-word term matching over normalised prompt text, shared by the
 * content policy and the negative prompt builder. Each caller picks how
 * tolerant a match is (what may stand between the words of a phrase, how one
 * word is spelled); the word boundaries, the `except` senses and the
 * normalisation are the same for both.
 */

/**
 * A term, or a term with following words that give it a different sense:
 * `{ term: 'nude', except: ['lipstick'] }` does not match "nude lipstick".
 */
export type TermSpec = string | { readonly term: string; readonly except: readonly string[] };

/** A boundary is "not preceded/followed by a letter or digit": "sex" does not fire on "Middlesex". */
export const B_START = '(?<![a-z0-9])';
export const B_END = '(?![a-z0-9])';

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A phrase as written, its words joined by `join` (a regex source). */
export function phraseSource(phrase: string, join: string): string {
  return phrase.trim().split(/\s+/).map(escapeRegex).join(join);
}

export interface TermStyle {
  /** Between the words of a phrase (a regex source); it may match nothing, so "doggystyle" is "doggy style". */
  join: string;
  /** Before an `except` word. Default: `join`. */
  exceptJoin?: string;
  /** The pattern for one word of a term. Default: the word as written. */
  word?: (word: string) => string;
}

/** The regex source of one term, starting with {@link B_START}. */
function termSource(spec: TermSpec, style: TermStyle): string {
  const term = typeof spec === 'string' ? spec : spec.term;
  const word = style.word ?? escapeRegex;
  let source = `${B_START}${term.trim().split(/\s+/).map(word).join(style.join)}${B_END}`;
  if (typeof spec !== 'string' && spec.except.length > 0) {
    const senses = spec.except.map((e) => phraseSource(e, style.join)).join('|');
    source += `(?!${style.exceptJoin ?? style.join}(?:${senses})${B_END})`;
  }
  return source;
}

/**
 * A term list compiled for {@link matchesAnyTerm}: one regex for the whole
 * list (scanned once per text) and one per term (only for the rare text
 * whose first match is digits or symbols alone).
 */
export interface TermSet {
  readonly any: RegExp;
  readonly each: readonly RegExp[];
}

export function compileTerms(specs: readonly TermSpec[], style: TermStyle): TermSet {
  const sources = specs.map((spec) => termSource(spec, style));
  const alternatives = sources.map((s) => `(?:${s.slice(B_START.length)})`).join('|');
  return { any: new RegExp(`${B_START}(?:${alternatives})`), each: sources.map((s) => new RegExp(s, 'g')) };
}

/**
 * True when some term's match contains at least one real letter (digits or
 * leet symbols alone are not a word). The whole list is scanned in one pass:
 * its first match is at the leftmost place any term matches, and is exactly
 * that term's own first match, so when it has a letter the answer is yes and
 * when there is none it is no. Only a first match without letters needs each
 * term's later matches, term by term.
 */
export function matchesAnyTerm(text: string, terms: TermSet): boolean {
  const first = terms.any.exec(text);
  if (!first) return false;
  if (/[a-z]/.test(first[0])) return true;
  for (const re of terms.each) {
    // matchAll works on a copy of the regex, so no lastIndex state leaks between calls.
    for (const m of text.matchAll(re)) {
      if (/[a-z]/.test(m[0])) return true;
    }
  }
  return false;
}

/**
 * Lower-case, Unicode-compatibility fold (NFKC: full-width and styled letters
 * become ASCII), diacritics stripped, then `extra`, then whitespace collapsed.
 */
export function normaliseText(prompt: string, extra: (text: string) => string = (t) => t): string {
  const folded = prompt.normalize('NFKC').toLowerCase().normalize('NFD').replace(/\p{M}+/gu, '').normalize('NFC');
  return extra(folded).replace(/\s+/g, ' ').trim();
}
