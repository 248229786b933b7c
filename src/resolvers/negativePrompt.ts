/**
 * Enhanced negative prompts for SDXL jobs.
 *
 * Implements the legacy system's "Enhanced Negative Prompts (SDXL Only)" section: seven
 * priority tiers, the first four always on, the last three switched on by what
 * the prompt describes (multi-party scene, explicit content, nudity).
 *
 * Detection is deliberately simple and reviewable: case-insensitive,
 * word-boundary keyword matching against the small curated lists below. A word
 * boundary here means "not preceded/followed by a letter or digit", so "sex"
 * does not fire on "Middlesex", "man" does not fire on "woman" or "Batman", and
 * "male" does not fire on "female". Multi-word phrases match with any run of
 * spaces, hyphens or underscores between the words (or none at all), so
 * "doggy style", "doggy-style" and "doggystyle" are the same phrase.
 *
 * Output: the enabled tiers' terms in priority order, then the legacy table's order within a
 * tier, de-duplicated (first occurrence wins), joined with ", ". Pure and
 * deterministic: the same prompt always yields the same string.
 */

import { B_END, compileTerms, escapeRegex, matchesAnyTerm, normaliseText, type TermSpec, type TermStyle } from './termMatcher.js';

export type SceneFlags = { multiParty: boolean; explicit: boolean; nudity: boolean };

/** When a tier is included: always, or only when the scene flag(s) say so. */
export type TierCondition = 'always' | 'multiParty' | 'explicit' | 'nsfw';

export interface NegativePromptTier {
  readonly priority: number;
  readonly name: string;
  readonly condition: TierCondition;
  readonly terms: readonly string[];
}

const TIER_TABLE: NegativePromptTier[] = [
  {
    priority: 1,
    name: 'Critical Quality',
    condition: 'always',
    terms: ['bad anatomy', 'extra limbs', 'deformed', 'missing limbs', 'worst quality', 'low quality', 'normal quality', 'lowres'],
  },
  {
    priority: 2,
    name: 'Anatomical Accuracy',
    condition: 'always',
    terms: ['deformed hands', 'extra fingers', 'deformed face', 'malformed', 'bad hands', 'bad fingers', 'missing fingers'],
  },
  {
    priority: 3,
    name: 'Technical Artifacts',
    condition: 'always',
    terms: ['text', 'watermark', 'logo', 'signature', 'contact info'],
  },
  {
    priority: 4,
    name: 'Style Prevention',
    condition: 'always',
    terms: ['anime', 'cartoon', 'graphic', 'render', 'cgi', '3d'],
  },
  {
    priority: 5,
    name: 'Multi-Party Scene Prevention',
    condition: 'multiParty',
    terms: ['three girls', 'all girls', 'only girls', 'no male', 'missing male', 'disembodied penis', 'floating penis'],
  },
  {
    priority: 6,
    name: 'Position Accuracy',
    condition: 'explicit',
    terms: ['wrong position', 'incorrect pose', 'impossible position', 'unnatural pose', 'penis in wrong place'],
  },
  {
    priority: 7,
    name: 'NSFW Anatomical',
    condition: 'nsfw',
    terms: ['deformed breasts', 'extra breasts', 'anatomical errors', 'wrong anatomy', 'distorted bodies', 'unnatural poses'],
  },
];

/** The legacy system's tier table, verbatim, in priority order (frozen). */
export const NEGATIVE_PROMPT_TIERS: readonly NegativePromptTier[] = Object.freeze(
  TIER_TABLE.map((tier) => Object.freeze({ ...tier, terms: Object.freeze([...tier.terms]) })),
);

// ---------------------------------------------------------------------------
// Detection vocabularies (data, kept small so they are easy to review).
// A term is either a plain string or { term, except } where `except` lists
// words that, when they come right after the term, mean a non-matching sense
// ("nude lipstick" is a colour, not nudity).
// ---------------------------------------------------------------------------

/** Women/girls. Pronouns are left out on purpose: too noisy. */
const FEMALE_TERMS: readonly TermSpec[] = [
  'woman', 'women', 'girl', 'girls', 'female', 'females', 'lady', 'ladies',
  'wife', 'wives', 'girlfriend', 'girlfriends', 'lesbian', 'lesbians',
];

/** Men/boys. */
const MALE_TERMS: readonly TermSpec[] = [
  'man', 'men', 'guy', 'guys', 'male', 'males', 'boy', 'boys', 'dude', 'dudes',
  'husband', 'husbands', 'boyfriend', 'boyfriends', 'gentleman', 'gentlemen',
];

/** Words that on their own mean several people together. */
const GROUP_TERMS: readonly TermSpec[] = [
  'group', 'groups', 'threesome', 'foursome', 'fivesome', 'moresome', 'orgy', 'orgies',
  'gangbang', 'gang bang', 'three way', 'menage a trois', '3some', '4some',
  'mmf', 'mff', 'ffm', 'fmm', 'mfm', 'fmf',
];

/** Count words that, before a plural person noun, mean two or more people. */
const COUNT_WORDS: readonly string[] = [
  'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
  'several', 'multiple', 'many',
];

/** Plural person nouns counted by COUNT_WORDS or a number >= 2 ("3 girls", "2girls"). */
const PLURAL_PERSON_NOUNS: readonly string[] = [
  'women', 'girls', 'men', 'guys', 'boys', 'ladies', 'females', 'males', 'dudes',
  'people', 'persons', 'friends', 'partners', 'lovers', 'couples', 'models',
];

/** Explicit sexual activity: switches on tier 6 (and tier 7). */
const EXPLICIT_TERMS: readonly TermSpec[] = [
  'sex', 'having sex', 'sexual intercourse', 'intercourse', 'penetration', 'penetrating', 'penetrated',
  'fuck', 'fucking', 'fucked', 'blowjob', 'blow job', 'handjob', 'hand job', 'fellatio', 'cunnilingus',
  'oral sex', 'anal', 'missionary position', 'doggy style', 'doggystyle', 'cowgirl position',
  'reverse cowgirl', 'sixty nine', 'deepthroat', 'cumshot', 'creampie', 'orgasm', 'masturbating',
  'masturbation', 'fingering', 'threesome', 'orgy', 'gangbang', 'porn', 'porno', 'hardcore', 'xxx',
  'explicit',
];

/** "nude" as a colour or shade is not nudity. */
const NUDE_NOT_NUDITY = [
  'color', 'colour', 'colored', 'coloured', 'tone', 'tones', 'palette', 'lipstick', 'lip', 'lips',
  'heels', 'pumps', 'shoes', 'makeup', 'beige', 'shade', 'shades', 'nail', 'nails', 'polish', 'tights',
];

/** Nudity / NSFW content: switches on tier 7. */
const NUDITY_TERMS: readonly TermSpec[] = [
  { term: 'nude', except: NUDE_NOT_NUDITY }, 'nudes', 'nudity',
  { term: 'naked', except: ['eye', 'eyes', 'mole', 'truth', 'flame', 'flames'] },
  'topless', 'bottomless', 'nsfw', 'undressed', 'unclothed', 'erotic', 'lingerie',
  'breasts', 'bare breasts', 'boobs', 'nipples', 'penis', 'vagina', 'pussy', 'genitals', 'genitalia',
  'erection',
];

// ---------------------------------------------------------------------------
// Matching helpers
// ---------------------------------------------------------------------------

/** Between the words of a phrase: spaces, hyphens, underscores, or nothing. */
const STYLE: TermStyle = { join: '[\\s\\-_]*' };

const FEMALE_RES = compileTerms(FEMALE_TERMS, STYLE);
const MALE_RES = compileTerms(MALE_TERMS, STYLE);
const GROUP_RES = compileTerms(GROUP_TERMS, STYLE);
const EXPLICIT_RES = compileTerms(EXPLICIT_TERMS, STYLE);
const NUDITY_RES = compileTerms(NUDITY_TERMS, STYLE);

/**
 * "<count> [up to two other words] <plural person noun>": "two women",
 * "3 young blonde girls", "2girls", "several people". Group 1 is the count.
 */
const COUNT_RE = new RegExp(
  `(?<![a-z0-9]|\\d[.,])(${COUNT_WORDS.map(escapeRegex).join('|')}|\\d{1,4})` +
    `[\\s\\-_]*(?:[a-z]+[\\s\\-_]+){0,2}?(?:${PLURAL_PERSON_NOUNS.map(escapeRegex).join('|')})${B_END}`,
  'g',
);

function hasCountedPeople(text: string): boolean {
  for (const m of text.matchAll(COUNT_RE)) {
    const count = m[1]!;
    if (!/^\d+$/.test(count) || Number(count) >= 2) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/**
 * What the prompt describes, as far as the negative prompt cares:
 * - multiParty: a group word ("threesome", "group"), people of both genders
 *   ("a man and a woman"), or a count of two or more people that is not
 *   all women ("two men", "several people"). The tier exists to stop mixed
 *   scenes rendering as "three girls, all girls, no male", so a prompt that
 *   asks for only women ("3 girls") must not get it.
 * - explicit: sexual activity (switches on position accuracy).
 * - nudity: nudity / NSFW wording (switches on NSFW anatomy, as does explicit).
 */
export function detectScene(prompt: string): SceneFlags {
  const text = normaliseText(typeof prompt === 'string' ? prompt : '');
  const female = matchesAnyTerm(text, FEMALE_RES);
  const male = matchesAnyTerm(text, MALE_RES);
  const multiParty = matchesAnyTerm(text, GROUP_RES) || (female && male) || (hasCountedPeople(text) && (male || !female));
  return {
    multiParty,
    explicit: matchesAnyTerm(text, EXPLICIT_RES),
    nudity: matchesAnyTerm(text, NUDITY_RES),
  };
}

function tierEnabled(condition: TierCondition, scene: SceneFlags): boolean {
  switch (condition) {
    case 'always':
      return true;
    case 'multiParty':
      return scene.multiParty;
    case 'explicit':
      return scene.explicit;
    case 'nsfw':
      return scene.nudity || scene.explicit;
  }
}

/**
 * Joins the enabled tiers' terms: priority order, de-duplicated (case- and
 * whitespace-insensitively, first occurrence wins), ", "-separated, no empty
 * entries. Exposed so the assembly rules can be tested against any table.
 */
export function assembleNegativePrompt(
  scene: SceneFlags,
  tiers: readonly NegativePromptTier[] = NEGATIVE_PROMPT_TIERS,
): string {
  const seen = new Set<string>();
  const out: string[] = [];
  const ordered = [...tiers].sort((a, b) => a.priority - b.priority);
  for (const tier of ordered) {
    if (!tierEnabled(tier.condition, scene)) continue;
    for (const raw of tier.terms) {
      const term = raw.trim().replace(/\s+/g, ' ').replace(/^,+|,+$/g, '').trim();
      if (term === '') continue;
      const key = term.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(term);
    }
  }
  return out.join(', ');
}

/** The negative prompt for an SDXL job with this prompt. */
export function buildNegativePrompt(prompt: string): string {
  return assembleNegativePrompt(detectScene(prompt));
}
