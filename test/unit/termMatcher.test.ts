import { describe, expect, it } from 'vitest';
import { compileTerms, matchesAnyTerm } from '../../src/resolvers/termMatcher.js';

// Leet stand-ins as the content policy has them: a match of digits alone is not a word.
const LEET: Record<string, string> = { l: '[l1]', o: '[o0]', i: '[i1]' };
const terms = compileTerms(['loli', { term: 'kid', except: ['goat'] }, 'under age'], {
  join: '[\\s.\\-_]*',
  word: (w) => [...w].map((ch) => LEET[ch] ?? ch).join(''),
});

describe('matchesAnyTerm (one pass over the compiled list)', () => {
  it('finds a term anywhere, whole words only', () => {
    expect(matchesAnyTerm('a loli here', terms)).toBe(true);
    expect(matchesAnyTerm('under-age', terms)).toBe(true);
    expect(matchesAnyTerm('lolita and kidney', terms)).toBe(false);
    expect(matchesAnyTerm('a lighthouse at dusk', terms)).toBe(false);
  });

  it('keeps the except senses: the first kid is a goat, the second is not', () => {
    expect(matchesAnyTerm('kid goat', terms)).toBe(false);
    expect(matchesAnyTerm('kid goat and a kid', terms)).toBe(true);
  });

  it('skips a match of digits alone and still finds a real match after it', () => {
    expect(matchesAnyTerm('1011', terms)).toBe(false);
    expect(matchesAnyTerm('1011 and l0l1', terms)).toBe(true);
    expect(matchesAnyTerm('1011 then 1011', terms)).toBe(false);
    expect(matchesAnyTerm('1011 then a kid', terms)).toBe(true);
  });
});
