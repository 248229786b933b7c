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

/** Compiles one term to a global regex for {@link matchesAnyTerm}. */
export function compileTerm(spec: TermSpec, style: TermStyle): RegExp {
  const term = typeof spec === 'string' ? spec : spec.term;
  const word = style.word ?? escapeRegex;
  let source = `${B_START}${term.trim().split(/\s+/).map(word).join(style.join)}${B_END}`;
  if (typeof spec !== 'string' && spec.except.length > 0) {
    const senses = spec.except.map((e) => phraseSource(e, style.join)).join('|');
    source += `(?!${style.exceptJoin ?? style.join}(?:${senses})${B_END})`;
  }
  return new RegExp(source, 'g');
}

export function compileTerms(specs: readonly TermSpec[], style: TermStyle): readonly RegExp[] {
  return specs.map((spec) => compileTerm(spec, style));
}

/** True when some match contains at least one real letter (digits or leet symbols alone are not a word). */
export function matchesAnyTerm(text: string, res: readonly RegExp[]): boolean {
  for (const re of res) {
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
