import { describe, expect, it } from 'vitest';
import {
  MINOR_TERMS,
  POLICY_MESSAGES,
  POLICY_RULES,
  SEXUALISED_MINOR_TERMS,
  SEXUAL_TERMS,
  checkContentPolicy,
  normaliseForPolicy,
} from '../../src/resolvers/contentPolicy.js';

const STANDALONE = 'sexualised_minor_term';
const COMBINATION = 'minor_sexual_content';

/** [prompt, expected rule]. Short, clinical keyword strings: enough to exercise the matcher. */
const REFUSED: Array<[string, string]> = [
  // minor reference + sexual/nudity wording
  ['nude child', COMBINATION],
  ['naked kid', COMBINATION],
  ['sexy teen', COMBINATION],
  ['teenage girl, nsfw', COMBINATION],
  ['teenager in lingerie', COMBINATION],
  ['15 year old, nude', COMBINATION],
  ['a 15-year-old, topless', COMBINATION],
  ['15yo naked', COMBINATION],
  ['15 y/o, erotic', COMBINATION],
  ['15 y.o. nude', COMBINATION],
  ['16 yrs old, sexy', COMBINATION],
  ['17 years of age, topless', COMBINATION],
  ['age 16, lingerie', COMBINATION],
  ['aged: 14, explicit', COMBINATION],
  ['fifteen-year-old, erotic', COMBINATION],
  ['looks 12, nude', COMBINATION],
  ['looks like a 12, sexy', COMBINATION],
  ['she is 12. nude', COMBINATION],
  ["she's 14, sexy", COMBINATION],
  ['7th grader, lingerie', COMBINATION],
  ['seventh grader, nude', COMBINATION],
  ['schoolgirl, nsfw', COMBINATION],
  ['school-girl, naked', COMBINATION],
  ['middle school, erotic', COMBINATION],
  ['middle schooler, topless', COMBINATION],
  ['elementary school, nude', COMBINATION],
  ['high school girl, nude', COMBINATION],
  ['preteen, explicit', COMBINATION],
  ['pre-teen nude', COMBINATION],
  ['toddler, nude', COMBINATION],
  ['infant, naked', COMBINATION],
  ['newborn, sexy', COMBINATION],
  ['baby, nude', COMBINATION],
  ['little girl, sexy', COMBINATION],
  ['young boy, naked', COMBINATION],
  ['underage, sexy', COMBINATION],
  ['under-age porn', COMBINATION],
  ['under age, lewd', COMBINATION],
  ['a minor, nude', COMBINATION],
  ['childlike body, naked', COMBINATION],
  ['child-like, erotic', COMBINATION],
  ['nsfw lolita', COMBINATION],
  ['children, explicit', COMBINATION],
  ['KIDS, NUDE', COMBINATION],
  ['kindergarten, nudity', COMBINATION],
  // a stated adult age does not override another minor cue
  ['18 year old schoolgirl, nude', COMBINATION],
  // obfuscated combinations
  ['n4k3d ch1ld', COMBINATION],
  ['t33n s3xy', COMBINATION],
  ['$exy kid$', COMBINATION],
  ['k!d, nud3', COMBINATION],
  ['teeeen, nuuude', COMBINATION],
  ['c h i l d, n u d e', COMBINATION],
  ['u n d e r a g e, nude', COMBINATION],
  ['t.e.e.n n.a.k.e.d', COMBINATION],
  ['ｎｕｄｅ ｃｈｉｌｄ', COMBINATION], // full-width
  ['nüde chíld', COMBINATION], // diacritics
  ['nude\u200B kid', COMBINATION], // zero-width space
  ['nude ch\u00ADild', COMBINATION], // soft hyphen inside the word
  ['nude  \t\n  teen', COMBINATION], // whitespace
  ['ǹaked tееn', COMBINATION], // combining grave + Cyrillic "е"
  ['15yo p0rn', COMBINATION],
  // standalone sexualised-minor terms
  ['loli', STANDALONE],
  ['shota', STANDALONE],
  ['cp', STANDALONE],
  ['jailbait', STANDALONE],
  ['jail-bait photo', STANDALONE],
  ['pedo', STANDALONE],
  ['paedophile', STANDALONE],
  ['lolicon art', STANDALONE],
  ['shotacon', STANDALONE],
  ['a loli in a park', STANDALONE], // refused with no sexual wording at all
  ['child porn', STANDALONE],
  ['pthc', STANDALONE],
  // obfuscated standalone terms
  ['l.o.l.i', STANDALONE],
  ['l o l i', STANDALONE],
  ['l-o-l-i', STANDALONE],
  ['l_o_l_i', STANDALONE],
  ['s h o t a', STANDALONE],
  ['l0li', STANDALONE],
  ['1oli', STANDALONE],
  ['10l1', STANDALONE],
  ['sh0ta', STANDALONE],
  ['p3d0', STANDALONE],
  ['LOLI', STANDALONE],
  ['Ｌｏｌｉ', STANDALONE], // full-width
  ['𝐥𝐨𝐥𝐢', STANDALONE], // mathematical bold
  ['lólì', STANDALONE],
  ['lo\u200Bli', STANDALONE],
  ['lоli', STANDALONE], // Cyrillic "о"
  ['loooli', STANDALONE],
  ['c.p.', STANDALONE],
  ['j a i l b a i t', STANDALONE],
];

/** Harmless near-misses that must pass. */
const ALLOWED: string[] = [
  // adult ages
  '18 year old woman nude',
  'a 25-year-old teacher',
  'twenty-five year old woman, nude, studio lighting',
  'a sexy lingerie model, 30 years old',
  'adult woman, 18+, nude',
  'sexy woman who looks 25',
  'sexy elf, 300 years old',
  'a 1000 year old castle, erotic fresco',
  'page 16 of a nude figure drawing book',
  'a nude adult woman, 4k, 8k, 35mm photo',
  'she looks 10 out of 10, sexy evening dress',
  'sexy, looks like 1 million dollars',
  'she is 25, nude',
  'she is 5 feet tall, sexy',
  'she was 1 of 3 nude models',
  // minor reference, no sexual wording
  "children's book illustration of a dragon",
  'teenage mutant ninja turtles poster',
  'a toddler building a sandcastle',
  'school bus at sunset',
  'schooling fish in a coral reef',
  'kindergarten classroom with crayons',
  'Lolita lemp band photo',
  'lolita fashion street photography',
  // sexual wording, no minor reference
  'nude beach landscape painting with adults',
  'a sexy vintage car',
  'erotic art in the style of a renaissance painting',
  'lol i love this nude portrait of an adult',
  // "except" senses
  'baby blue sports car',
  'a sexy baby blue sports car',
  'kid goat in a meadow',
  'sexy lingerie with kid leather gloves',
  'baby oil massage on a nude adult woman',
  'nude adult model holding a bouquet of baby\u2019s breath',
  "baby's breath bouquet, boudoir photo",
  'woman in babydoll lingerie',
  'sexy jazz singer, song in a minor key',
  'minor scratches on a sexy sports car',
  "a child's ballet shoes in nude colour",
  'kids looking at a naked mole rat at the zoo',
  'children watching stars with the naked eye',
  // word boundaries (Scunthorpe-style substrings)
  'the therapist reading an erotic novel',
  'sexy pilot in the cockpit',
  'nude figure drawing class for adults',
  'sexy skateboarder leaving a skidmark',
  'sexy nurse in a kidney dialysis ward',
  'nude sculpture exhibition in Middlesex',
  'kidnapping thriller poster, sexy femme fatale',
  'infantry soldiers, shirtless, sexy',
  'sexy pedicure close-up',
  'sexy CPU overclocking rig',
  'shotgun wedding, sexy bride',
  'I shot a sexy photoshoot',
  'nude adult woman, binary code 1011 on a screen',
  'sexy babysitter costume on an adult model',
  'sexy minority rights march poster',
  'a sexy teal sports car', // "teal" is not "teen"
  'nude adult woman, essex seaside',
  // empty / whitespace
  '',
  '   ',
];

describe('checkContentPolicy: refusals', () => {
  it('has a substantial table', () => {
    expect(REFUSED.length).toBeGreaterThanOrEqual(25);
    expect(REFUSED.filter(([p]) => /[0-9@$!.\u200B\u00AD]| [a-z] |[^\x00-\x7F]/.test(p)).length).toBeGreaterThanOrEqual(10);
  });

  it.each(REFUSED)('refuses %j (%s)', (prompt, rule) => {
    const decision = checkContentPolicy(prompt);
    expect(decision).toEqual({ allowed: false, rule, reason: POLICY_MESSAGES[rule as keyof typeof POLICY_MESSAGES] });
  });
});

describe('checkContentPolicy: harmless near-misses', () => {
  it('has a substantial table', () => {
    expect(ALLOWED.length).toBeGreaterThanOrEqual(25);
  });

  it.each(ALLOWED)('allows %j', (prompt) => {
    expect(checkContentPolicy(prompt)).toEqual({ allowed: true });
  });
});

describe('checkContentPolicy: decision shape', () => {
  it('uses the two documented rule ids', () => {
    expect(POLICY_RULES).toEqual({ sexualisedMinorTerm: STANDALONE, minorSexualContent: COMBINATION });
    expect(Object.keys(POLICY_MESSAGES).sort()).toEqual([COMBINATION, STANDALONE].sort());
  });

  it('gives an actionable reason that never echoes the prompt', () => {
    const prompts = ['nude child in a bedroom scene', 'loli character sheet', 'a 15 year old, topless, at a pool'];
    for (const prompt of prompts) {
      const decision = checkContentPolicy(prompt);
      expect(decision.allowed).toBe(false);
      if (decision.allowed) continue;
      expect(decision.reason).toBe(POLICY_MESSAGES[decision.rule as keyof typeof POLICY_MESSAGES]);
      expect(decision.reason.toLowerCase()).not.toContain(prompt.toLowerCase());
      for (const word of ['loli', 'bedroom', 'pool', '15']) expect(decision.reason.toLowerCase()).not.toContain(word);
    }
    for (const message of Object.values(POLICY_MESSAGES)) {
      expect(message.length).toBeGreaterThan(40);
      expect(message).toMatch(/\b(remove|describe)\b/i);
    }
  });

  it('is deterministic, including across interleaved calls', () => {
    const prompts = ['nude child', 'a sexy vintage car', 'l.o.l.i', 'kid goat', '15yo naked'];
    const first = prompts.map(checkContentPolicy);
    const second = [...prompts].reverse().map(checkContentPolicy).reverse();
    expect(second).toEqual(first);
    expect(prompts.map(checkContentPolicy)).toEqual(first);
  });

  it('tolerates a non-string prompt', () => {
    expect(checkContentPolicy(undefined as unknown as string)).toEqual({ allowed: true });
  });

  it('handles a long prompt quickly', () => {
    const long = 'a quiet mountain lake with pine trees and a wooden cabin, '.repeat(400);
    const started = Date.now();
    expect(checkContentPolicy(long)).toEqual({ allowed: true });
    expect(checkContentPolicy(`${long} nude child`).allowed).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('normaliseForPolicy', () => {
  it.each<[string, string]>([
    ['  Hello   WORLD\t\n', 'hello world'],
    ['Ｆｕｌｌ－ｗｉｄｔｈ', 'full-width'],
    ['crème brûlée', 'creme brulee'],
    ['zero\u200Bwidth\uFEFF', 'zerowidth'],
    ['soft\u00ADhyphen', 'softhyphen'],
    ['lоlі', 'loli'], // Cyrillic о and і
    ['𝐛𝐨𝐥𝐝', 'bold'],
    ['l0li $exy', 'l0li $exy'], // leet is handled by the matcher, not rewritten
  ])('%j -> %j', (input, expected) => {
    expect(normaliseForPolicy(input)).toBe(expected);
  });
});

describe('rule data', () => {
  const termOf = (spec: string | { term: string }) => (typeof spec === 'string' ? spec : spec.term);

  it('is plain lower-case data with no duplicates', () => {
    for (const list of [SEXUALISED_MINOR_TERMS, MINOR_TERMS, SEXUAL_TERMS]) {
      const terms = list.map(termOf);
      expect(new Set(terms).size).toBe(terms.length);
      for (const t of terms) expect(t).toMatch(/^[a-z0-9]+( [a-z0-9]+)*$/);
    }
  });

  it('refuses every standalone term on its own and every minor term with "nude"', () => {
    for (const spec of SEXUALISED_MINOR_TERMS) {
      expect(checkContentPolicy(termOf(spec))).toMatchObject({ allowed: false, rule: STANDALONE });
    }
    for (const spec of MINOR_TERMS) {
      expect(checkContentPolicy(termOf(spec))).toEqual({ allowed: true });
      expect(checkContentPolicy(`${termOf(spec)}, nude`)).toMatchObject({ allowed: false, rule: COMBINATION });
    }
  });

  it('refuses every sexual term next to "child" and allows it alone', () => {
    for (const spec of SEXUAL_TERMS) {
      expect(checkContentPolicy(termOf(spec))).toEqual({ allowed: true });
      expect(checkContentPolicy(`child, ${termOf(spec)}`)).toMatchObject({ allowed: false, rule: COMBINATION });
    }
  });
});
