import { describe, expect, it } from 'vitest';
import {
  NEGATIVE_PROMPT_TIERS,
  assembleNegativePrompt,
  buildNegativePrompt,
  detectScene,
  type NegativePromptTier,
} from '../../src/resolvers/negativePrompt.js';

const termsOf = (priority: number): readonly string[] =>
  NEGATIVE_PROMPT_TIERS.find((t) => t.priority === priority)!.terms;

const entries = (negative: string): string[] => negative.split(', ');

function tiersIn(negative: string): number[] {
  const list = entries(negative);
  return NEGATIVE_PROMPT_TIERS.filter((t) => t.terms.every((term) => list.includes(term))).map((t) => t.priority);
}

describe('NEGATIVE_PROMPT_TIERS (seed table)', () => {
  it('has the seven seed tiers in priority order with the seed terms', () => {
    expect(NEGATIVE_PROMPT_TIERS.map((t) => [t.priority, t.name, t.condition])).toEqual([
      [1, 'Critical Quality', 'always'],
      [2, 'Anatomical Accuracy', 'always'],
      [3, 'Technical Artifacts', 'always'],
      [4, 'Style Prevention', 'always'],
      [5, 'Multi-Party Scene Prevention', 'multiParty'],
      [6, 'Position Accuracy', 'explicit'],
      [7, 'NSFW Anatomical', 'nsfw'],
    ]);
    expect(termsOf(1)).toEqual([
      'bad anatomy', 'extra limbs', 'deformed', 'missing limbs', 'worst quality', 'low quality', 'normal quality', 'lowres',
    ]);
    expect(termsOf(2)).toEqual([
      'deformed hands', 'extra fingers', 'deformed face', 'malformed', 'bad hands', 'bad fingers', 'missing fingers',
    ]);
    expect(termsOf(3)).toEqual(['text', 'watermark', 'logo', 'signature', 'contact info']);
    expect(termsOf(4)).toEqual(['anime', 'cartoon', 'graphic', 'render', 'cgi', '3d']);
    expect(termsOf(5)).toEqual([
      'three girls', 'all girls', 'only girls', 'no male', 'missing male', 'disembodied penis', 'floating penis',
    ]);
    expect(termsOf(6)).toEqual([
      'wrong position', 'incorrect pose', 'impossible position', 'unnatural pose', 'penis in wrong place',
    ]);
    expect(termsOf(7)).toEqual([
      'deformed breasts', 'extra breasts', 'anatomical errors', 'wrong anatomy', 'distorted bodies', 'unnatural poses',
    ]);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(NEGATIVE_PROMPT_TIERS)).toBe(true);
    expect(Object.isFrozen(NEGATIVE_PROMPT_TIERS[0])).toBe(true);
    expect(Object.isFrozen(NEGATIVE_PROMPT_TIERS[0]!.terms)).toBe(true);
  });
});

describe('buildNegativePrompt', () => {
  it('gives the exact base string for a plain landscape prompt', () => {
    expect(buildNegativePrompt('a mountain lake at sunrise, golden light')).toBe(
      'bad anatomy, extra limbs, deformed, missing limbs, worst quality, low quality, normal quality, lowres, ' +
        'deformed hands, extra fingers, deformed face, malformed, bad hands, bad fingers, missing fingers, ' +
        'text, watermark, logo, signature, contact info, ' +
        'anime, cartoon, graphic, render, cgi, 3d',
    );
  });

  it('gives the same base string for an empty prompt', () => {
    expect(buildNegativePrompt('')).toBe(buildNegativePrompt('a mountain lake at sunrise, golden light'));
  });

  const samples = [
    'a mountain lake at sunrise',
    '',
    'portrait of a woman',
    'two women and a man',
    'couple having sex, missionary position',
    'nude woman on a beach',
    'threesome, explicit, nude',
  ];

  it.each(samples)('always includes tiers 1-4, in order, first: %j', (prompt) => {
    const list = entries(buildNegativePrompt(prompt));
    const always = NEGATIVE_PROMPT_TIERS.filter((t) => t.condition === 'always').flatMap((t) => t.terms);
    expect(list.slice(0, always.length)).toEqual(always);
  });

  it.each(samples)('is well formed (no empty entries, no trailing comma, no duplicates): %j', (prompt) => {
    const negative = buildNegativePrompt(prompt);
    expect(negative).not.toMatch(/^\s|\s$|,\s*$|^,|,\s*,/);
    const list = entries(negative);
    expect(list.every((e) => e.length > 0 && e === e.trim() && !e.includes(','))).toBe(true);
    expect(new Set(list).size).toBe(list.length);
  });

  it.each<[string, number[]]>([
    ['a mountain lake at sunrise', [1, 2, 3, 4]],
    ['a woman reading in a cafe', [1, 2, 3, 4]],
    ['two women and a man at a party', [1, 2, 3, 4, 5]],
    ['a couple having sex', [1, 2, 3, 4, 6, 7]],
    ['nude woman on a beach', [1, 2, 3, 4, 7]],
    ['threesome, two women and a man, explicit', [1, 2, 3, 4, 5, 6, 7]],
  ])('switches tiers for %j -> %j', (prompt, expected) => {
    expect(tiersIn(buildNegativePrompt(prompt))).toEqual(expected);
  });

  it('puts every enabled tier in priority order', () => {
    const list = entries(buildNegativePrompt('threesome, two women and a man, explicit, nude'));
    const expected = NEGATIVE_PROMPT_TIERS.flatMap((t) => t.terms);
    expect(list).toEqual(expected);
  });

  it('is deterministic, including across interleaved calls', () => {
    const prompts = ['two women and a man, nude', 'a mountain lake', 'couple having sex', 'TWO WOMEN AND A MAN, NUDE'];
    const first = prompts.map(buildNegativePrompt);
    const second = [...prompts].reverse().map(buildNegativePrompt).reverse();
    const third = prompts.map(buildNegativePrompt);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(first[0]).toBe(first[3]); // case-insensitive detection
  });
});

describe('detectScene', () => {
  it.each([
    'two women and a man',
    'a threesome in a hotel room',
    'a group of friends at a bonfire',
    'a couple, a man and a woman, kissing',
    'a husband and wife dancing',
    '2girls, 1boy',
    'several people on a sofa',
    'two men at a bar',
    'MMF',
    'orgy',
    'gang-bang',
    'TWO MEN AND A WOMAN',
    'a gentleman and a lady',
  ])('multi-party: %j', (prompt) => {
    expect(detectScene(prompt).multiParty).toBe(true);
  });

  it.each([
    'a mountain lake at sunrise',
    'a woman reading a book',
    'a man walking his dog',
    '1girl, solo',
    'one woman on a beach',
    'a woman next to a Batman statue',
    'a female figure, classical sculpture',
    'a human silhouette',
    'a lesbian poet writing',
    'a woman with 2 cats',
    'a man with 1 friend',
    'version 2.5 women', // decimal, not a count of people
    // Only women asked for: tier 5 ("three girls, all girls, ...") would fight the prompt.
    '3 girls at a pool party',
    'three young blonde women',
  ])('not multi-party: %j', (prompt) => {
    expect(detectScene(prompt).multiParty).toBe(false);
  });

  it.each([
    'couple having sex',
    'missionary position',
    'doggy-style',
    'doggystyle',
    'reverse cowgirl',
    'a blowjob',
    'EXPLICIT',
    'anal',
    'porn',
  ])('explicit: %j', (prompt) => {
    const scene = detectScene(prompt);
    expect(scene.explicit).toBe(true);
    // explicit content always enables tier 7
    expect(tiersIn(buildNegativePrompt(prompt))).toContain(7);
  });

  it.each([
    'a mountain lake',
    'a missionary in a village',
    'a cowgirl riding a horse',
    'Middlesex cricket ground',
    'a sextant on a ship deck',
    'data analysis chart',
    'sussex countryside',
  ])('not explicit: %j', (prompt) => {
    expect(detectScene(prompt).explicit).toBe(false);
  });

  it.each(['nude woman on a beach', 'topless', 'NAKED', 'nsfw', 'lingerie model', 'erotic art', 'naked-woman'])(
    'nudity: %j',
    (prompt) => {
      const scene = detectScene(prompt);
      expect(scene.nudity).toBe(true);
      expect(scene.explicit).toBe(false);
      const tiers = tiersIn(buildNegativePrompt(prompt));
      expect(tiers).toContain(7);
      expect(tiers).not.toContain(6);
    },
  );

  it.each([
    'a mountain lake',
    'nude lipstick close-up',
    'nude colour palette',
    'nude heels',
    'stars visible to the naked eye',
    'a naked mole rat',
    'nudge the door open',
  ])('no nudity: %j', (prompt) => {
    expect(detectScene(prompt).nudity).toBe(false);
  });

  it('is case- and diacritic-insensitive', () => {
    expect(detectScene('NÜDE WOMAN')).toEqual({ multiParty: false, explicit: false, nudity: true });
    expect(detectScene('Ｔｗｏ ｍｅｎ')).toEqual({ multiParty: true, explicit: false, nudity: false });
  });
});

describe('assembleNegativePrompt', () => {
  const tiers: NegativePromptTier[] = [
    { priority: 2, name: 'second', condition: 'always', terms: ['b', 'A', ' c '] },
    { priority: 1, name: 'first', condition: 'always', terms: ['a', 'b', '', '  '] },
    { priority: 3, name: 'group', condition: 'multiParty', terms: ['a', 'group term'] },
    { priority: 4, name: 'explicit', condition: 'explicit', terms: ['position'] },
    { priority: 5, name: 'nsfw', condition: 'nsfw', terms: ['anatomy', 'b'] },
  ];
  const none = { multiParty: false, explicit: false, nudity: false };

  it('dedupes (first occurrence wins, case/whitespace-insensitive) and drops empty terms', () => {
    expect(assembleNegativePrompt(none, tiers)).toBe('a, b, c');
  });

  it('enables conditional tiers from the scene flags', () => {
    expect(assembleNegativePrompt({ ...none, multiParty: true }, tiers)).toBe('a, b, c, group term');
    expect(assembleNegativePrompt({ ...none, explicit: true }, tiers)).toBe('a, b, c, position, anatomy');
    expect(assembleNegativePrompt({ ...none, nudity: true }, tiers)).toBe('a, b, c, anatomy');
  });

  it('defaults to the seed table', () => {
    expect(assembleNegativePrompt(none)).toBe(buildNegativePrompt('a mountain lake'));
  });
});
