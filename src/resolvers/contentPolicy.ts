/**
 * Content policy: refuse prompts that sexualise minors.
 *
 * Design
 * ------
 * 1. Refuse on the COMBINATION. A prompt is refused when it refers to a minor
 *    (MINOR_TERMS, or an age under 18 found by the AGE_PATTERNS) AND contains
 *    sexual or nudity wording (SEXUAL_TERMS). Either half alone is fine:
 *    "children's book illustration of a dragon" and "nude beach landscape
 *    painting with adults" both pass. This keeps false positives low without
 *    trying to judge intent from single words.
 * 2. A few terms are refused ON THEIR OWN (SEXUALISED_MINOR_TERMS) because they
 *    exist only to name sexualised depictions of minors ("loli", "jailbait").
 * 3. WORD BOUNDARIES. Every term must stand as a whole word: a boundary is
 *    "not preceded/followed by a letter or digit". So "kidney", "skidmark",
 *    "Middlesex", "therapist", "cockpit", "class", "cpu", "shotgun" and
 *    "Lolita" (vs "loli") never match by substring. Multi-word phrases allow
 *    spaces, hyphens, dots, underscores or nothing between their words, so
 *    "under age", "under-age" and "underage" are one phrase.
 * 4. NORMALISE FIRST, so trivial evasions fail:
 *    - Unicode NFKC (full-width and styled letters fold to ASCII), lower-case,
 *      diacritics stripped ("lólì"), invisible characters removed (zero-width
 *      space, soft hyphen...), common Cyrillic/Greek look-alikes mapped to
 *      Latin, whitespace collapsed.
 *    - Leetspeak in word context: each letter of a term also matches its usual
 *      stand-ins (a=4@, e=3, i=1!|, l=1|, o=0, s=5$, t=7, b=8, g=9), so "l0li",
 *      "n4k3d" and "$exy" match. A match made only of digits/symbols is
 *      ignored (so the number 1011 is not "loli"): leet only counts inside a
 *      word that has at least one real letter.
 *    - Spelled-out separators: a single word also matches when EVERY letter is
 *      separated ("l.o.l.i", "l o l i", "s-h-o-t-a"). Partial splits ("lol i",
 *      "shot a") do not match, because those are ordinary English.
 *    - Stretched letters: runs of 3+ identical letters are also tried collapsed
 *      to one and to two letters ("loooli", "teeeen").
 * 5. Some terms have a non-person or non-sexual sense decided by the next word
 *    ({ term, except }): "kid goat", "baby blue", "minor key", "nude lipstick",
 *    "naked eye". Those senses are not matches.
 * 6. The refusal reason is a fixed message per rule: it never echoes the
 *    prompt or the matched words.
 *
 * Judgement calls (documented so they can be revisited):
 * - "lolita" is a minor REFERENCE (refused only with sexual wording), not a
 *   standalone term: "Lolita fashion", the novel, "Lolita Lempicka" and bands
 *   pass; "nude lolita" is refused. "loli" (whole word) is standalone.
 * - "teen"/"teenage" count as minor references even next to a stated adult
 *   age; a stated adult age never overrides another minor cue ("18 year old
 *   schoolgirl, nude" is refused). "girl"/"boy" alone do not (common for
 *   adults); "little girl", "young girl", "schoolgirl" do.
 * - "high school" alone is not a minor reference (teachers, reunions); "high
 *   schooler", "high school girl/boy/student" are. "middle school",
 *   "elementary school", "kindergarten" etc. are.
 * - "cp" and "shota" are standalone terms as asked, accepting rare false
 *   positives ("CP Rail", the given name Shota).
 * - "under 18" is NOT matched: it is usually a disclaimer ("no one under 18").
 * - Ages are read from "15 year old", "15-year-old", "15yo", "15 y/o", "15 yrs
 *   old", "15 years of age", "age 16", "aged 16", "looks 12", "looks like a
 *   12", "she is 12", "she's 12", "7th grade(r)", spelled-out numbers up to
 *   seventeen. "twenty-five year old" is 25, not 5. A bare number ("girl 14")
 *   is not read as an age: too many false positives (sizes, counts, dates).
 */

import {
  B_END,
  B_START,
  compileTerms,
  escapeRegex,
  matchesAnyTerm,
  normaliseText,
  phraseSource,
  type TermSpec,
  type TermStyle,
} from './termMatcher.js';

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string; rule: string };

export const POLICY_RULES = {
  sexualisedMinorTerm: 'sexualised_minor_term',
  minorSexualContent: 'minor_sexual_content',
} as const;

export type PolicyRule = (typeof POLICY_RULES)[keyof typeof POLICY_RULES];

/** Fixed, user-actionable messages; they never include the prompt. */
export const POLICY_MESSAGES: Readonly<Record<PolicyRule, string>> = Object.freeze({
  sexualised_minor_term:
    'This prompt uses a term that refers to sexualised depictions of minors, which is never allowed. ' +
    'Remove that term; if you meant something else, describe it in other words.',
  minor_sexual_content:
    'Sexual or nude content involving anyone under 18, or anyone described as looking under 18, is not allowed. ' +
    'If everyone in the image is an adult, describe them as adults and remove references to children, ' +
    'school age or ages under 18; otherwise remove the sexual or nude wording.',
});

// ---------------------------------------------------------------------------
// Rule data
// ---------------------------------------------------------------------------


/** Refused on their own: these exist only as sexualised-minor terms. */
export const SEXUALISED_MINOR_TERMS: readonly TermSpec[] = [
  'loli', 'lolis', 'lolicon', 'shota', 'shotas', 'shotacon', 'toddlercon',
  'jailbait', 'jail bait',
  'pedo', 'pedos', 'pedophile', 'pedophiles', 'pedophilia', 'pedophilic', 'pedobear',
  'paedo', 'paedos', 'paedophile', 'paedophiles', 'paedophilia',
  'cp', 'pthc', 'csam', 'child porn', 'child pornography', 'kiddie porn', 'kiddy porn',
];

const KID_NOT_A_CHILD = ['goat', 'goats', 'leather', 'glove', 'gloves', 'skin', 'suede', 'mohair'];

const BABY_NOT_A_CHILD = [
  // colours and things
  'blue', 'pink', 'yellow', 'green', 'powder', 'oil', 'doll', 'dolls', 'bump', 'shower', 'grand',
  'boomer', 'boomers', 'carrot', 'carrots', 'spinach', 'corn', 'back ribs', 's breath', 'breath',
  // young animals
  'animal', 'animals', 'elephant', 'goat', 'bird', 'birds', 'dragon', 'deer', 'fox', 'turtle', 'turtles',
  'seal', 'penguin', 'panda', 'owl', 'bear', 'duck', 'ducks', 'chick', 'chicks', 'dolphin', 'whale',
  'shark', 'tiger', 'lion', 'llama', 'kitten', 'kittens', 'puppy', 'puppies',
];

const MINOR_NOT_A_PERSON = [
  'key', 'keys', 'chord', 'chords', 'scale', 'scales', 'mode', 'third', 'seventh', 'arcana', 'axis',
  'league', 'leagues', 'leaguer', 'leaguers', 'planet', 'planets', 'role', 'roles', 'character', 'characters',
  'detail', 'details', 'flaw', 'flaws', 'scratch', 'scratches', 'damage', 'injury', 'injuries', 'cut', 'cuts',
  'bruise', 'bruises', 'change', 'changes', 'edit', 'edits', 'tweak', 'tweaks', 'adjustment', 'adjustments',
  'issue', 'issues', 'imperfection', 'imperfections', 'blemish', 'blemishes', 'correction', 'corrections',
  'fix', 'fixes', 'repair', 'repairs', 'update', 'version', 'offence', 'offense', 'surgery',
];

/**
 * References to a minor. Ages under 18 are found by AGE_PATTERNS below.
 * Phrases match with or without spaces/hyphens, so "school girl" also covers
 * "schoolgirl" and "pre teen" covers "preteen"/"pre-teen".
 */
export const MINOR_TERMS: readonly TermSpec[] = [
  'child', 'children', 'childs', 'childlike', 'childish body',
  { term: 'kid', except: KID_NOT_A_CHILD }, { term: 'kids', except: KID_NOT_A_CHILD },
  'kiddie', 'kiddies', 'kiddy', 'kiddo', 'kiddos',
  { term: 'minor', except: MINOR_NOT_A_PERSON }, 'minors',
  'under age', 'under aged',
  'juvenile', 'juveniles', 'adolescent', 'adolescents',
  'teen', 'teens', 'teenage', 'teenaged', 'teenager', 'teenagers',
  'pre teen', 'pre teens', 'tween', 'tweens', 'pubescent', 'pre pubescent',
  'toddler', 'toddlers', 'infant', 'infants', 'newborn', 'newborns',
  { term: 'baby', except: BABY_NOT_A_CHILD }, { term: 'babies', except: BABY_NOT_A_CHILD },
  'little girl', 'little girls', 'little boy', 'little boys',
  'young girl', 'young girls', 'young boy', 'young boys',
  'school girl', 'school girls', 'school boy', 'school boys', 'school kid', 'school kids',
  'school child', 'school children',
  'middle school', 'middle schooler', 'middle schoolers',
  'elementary school', 'elementary schooler', 'elementary schoolers',
  'elementary student', 'elementary students', 'elementary age', 'elementary aged',
  'grade school', 'grade schooler', 'grade schoolers', 'primary school', 'junior high',
  'kindergarten', 'kindergartner', 'kindergartners', 'kindergartener', 'kindergarteners',
  'preschool', 'preschooler', 'preschoolers',
  'high schooler', 'high schoolers', 'high school girl', 'high school girls', 'high school boy',
  'high school boys', 'high school student', 'high school students',
  'lolita', 'lolitas',
];

/** Sexual or nudity wording. */
export const SEXUAL_TERMS: readonly TermSpec[] = [
  {
    term: 'nude',
    except: [
      'color', 'colour', 'colored', 'coloured', 'tone', 'tones', 'palette', 'lipstick', 'lip', 'lips',
      'heels', 'pumps', 'shoes', 'makeup', 'beige', 'shade', 'shades', 'nail', 'nails', 'polish',
      'tights', 'leotard',
    ],
  },
  'nudes', 'nudity', 'nudist', 'nudism',
  { term: 'naked', except: ['eye', 'eyes', 'mole', 'truth', 'flame', 'flames', 'ambition', 'branches', 'tree', 'trees'] },
  'nakedness', 'topless', 'bottomless', 'undressed', 'undressing', 'unclothed',
  'no clothes', 'without clothes', 'without clothing',
  'sex', 'sexual', 'sexually', 'sexualised', 'sexualized', 'sexy', 'explicit', 'nsfw', 'r 18',
  'erotic', 'erotica', 'eroticism', 'lingerie', 'porn', 'porno', 'pornographic', 'pornography', 'xxx',
  'hentai', 'ecchi', 'lewd', 'hardcore', 'softcore',
  'aroused', 'arousal', 'arousing', 'horny', 'kinky', 'fetish', 'bdsm', 'bondage',
  'seduce', 'seducing', 'seductive', 'sensual', 'sultry', 'provocative', 'suggestive', 'boudoir', 'pinup',
  'striptease', 'stripper', 'upskirt', 'cameltoe', 'spread legs', 'boobs',
  'genitals', 'genitalia', 'penis', 'vagina', 'pussy', 'erection',
  'intercourse', 'penetration', 'blowjob', 'handjob', 'fellatio', 'cunnilingus',
  'masturbate', 'masturbating', 'masturbation', 'orgasm', 'orgy', 'threesome', 'gangbang',
  'fuck', 'fucking', 'fucked', 'rape', 'raped', 'molest', 'molested', 'molesting', 'molestation',
  'grope', 'groped', 'groping',
];

/** Spelled-out ages under 18 (value = index). */
const MINOR_NUMBER_WORDS: readonly string[] = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen',
];

const ORDINAL_GRADES: readonly string[] = [
  'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth',
];

/** Words after "looks 12" / "she is 12" that make the number a quantity, not an age. */
const NOT_AN_AGE_AFTER: readonly string[] = [
  'of', 'x', 'million', 'billion', 'thousand', 'hundred', 'percent', 'out of', 'times', 'stars', 'star', 'points',
  'dollars', 'bucks', 'feet', 'ft', 'foot', 'inches', 'inch', 'in', 'cm', 'mm', 'meters', 'metres', 'kg',
  'lbs', 'lb', 'pounds',
];

// ---------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------

const INVISIBLE_RE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF]/g;

/** Common Cyrillic/Greek look-alikes of Latin letters (lower-case). */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  а: 'a', в: 'b', е: 'e', і: 'i', ј: 'j', к: 'k', о: 'o', р: 'p', с: 'c', ѕ: 's', т: 't', у: 'y', х: 'x',
  һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w',
  α: 'a', β: 'b', ε: 'e', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x',
};
const HOMOGLYPH_RE = new RegExp(`[${Object.keys(HOMOGLYPHS).join('')}]`, 'g');

/**
 * Lower-case, NFKC, strip diacritics and invisible characters, map look-alike
 * letters, collapse whitespace. Punctuation and digits are kept: the matchers
 * treat them as separators or leet stand-ins.
 */
export function normaliseForPolicy(prompt: string): string {
  return normaliseText(prompt, (text) => text.replace(INVISIBLE_RE, '').replace(HOMOGLYPH_RE, (ch) => HOMOGLYPHS[ch] ?? ch));
}

/** The normalised text plus stretched-letter collapses ("loooli" -> "loli"/"looli"). */
function textForms(normalised: string): string[] {
  const forms = new Set([
    normalised,
    normalised.replace(/([a-z])\1{2,}/g, '$1'),
    normalised.replace(/([a-z])\1{2,}/g, '$1$1'),
  ]);
  return [...forms];
}

// ---------------------------------------------------------------------------
// Matchers
// ---------------------------------------------------------------------------

/** Between the words of a phrase: separators or nothing ("under-age", "underage"). */
const PHRASE_JOIN = '[\\s.\\-_/]*';
/** Between every letter of a spelled-out word ("l.o.l.i", "l o l i"). */
const LETTER_SEP = '[\\s.\\-_*~+,:;\'"`/\\\\]{1,3}';
/** Before an "except" word (also allows the possessive: "baby's breath"). */
const EXCEPT_JOIN = "[\\s.\\-_/'\u2019]*";

const LEET: Readonly<Record<string, string>> = {
  a: 'a4@', b: 'b8', e: 'e3', g: 'g9', i: 'i1!|', l: 'l1|', o: 'o0', s: 's5$', t: 't7',
};

function charPattern(ch: string): string {
  const alts = LEET[ch];
  if (!alts) return escapeRegex(ch);
  return `[${alts.replace(/[\]\\^-]/g, '\\$&')}]`;
}

/** One word: as written (with leet stand-ins) or with every letter separated. */
function wordPattern(word: string): string {
  const chars = [...word].map(charPattern);
  if (chars.length < 2) return chars.join('');
  return `(?:${chars.join('')}|${chars.join(LETTER_SEP)})`;
}

/** Leet stand-ins, spelled-out words, tolerant phrase joins: see the design notes above. */
const STYLE: TermStyle = { join: PHRASE_JOIN, exceptJoin: EXCEPT_JOIN, word: wordPattern };

const SEXUALISED_MINOR_RES = compileTerms(SEXUALISED_MINOR_TERMS, STYLE);
const MINOR_RES = compileTerms(MINOR_TERMS, STYLE);
const SEXUAL_RES = compileTerms(SEXUAL_TERMS, STYLE);

// Ages. Group 1 of each numeric pattern is the age (digits or a number word).
const J = '[\\s\\-_./\\\\]*';
const GAP = '[\\s\\-_.]+';
const TENS = '(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)';
/** Not part of a longer number, a decimal, or a compound like "twenty-five". */
const NUM = `(?<![a-z0-9]|\\d[.,]|${TENS}[\\s\\-]*)(\\d{1,3}|${MINOR_NUMBER_WORDS.join('|')})`;

const AGE_PATTERNS: readonly RegExp[] = [
  // "15 year old", "15-year-old", "15yo", "15 y/o", "15 y.o.", "15 yrs old", "fifteen year old"
  new RegExp(`${NUM}${J}(?:years?|yrs?|y)${J}(?:olds?|o)${B_END}`, 'g'),
  // "15 years of age"
  new RegExp(`${NUM}${J}(?:years?|yrs?)${GAP}of${GAP}age${B_END}`, 'g'),
  // "age 16", "aged 16", "age: 16", "age of 16"
  new RegExp(`${B_START}aged?[\\s\\-_.:=]*(?:of${GAP})?${NUM}${B_END}`, 'g'),
  // "looks 12", "looks like a 12", "appears about 12" (but not "looks 10 out of 10", "looks 1 million")
  new RegExp(
    `${B_START}(?:looks?|looking|appears?|appearing|seems?)${GAP}(?:like${GAP})?(?:(?:a|an)${GAP})?` +
      `(?:(?:only|about|around|maybe|barely|just)${GAP})?${NUM}${B_END}` +
      `(?!\\s*(?:[%/]|(?:${NOT_AN_AGE_AFTER.map((w) => phraseSource(w, GAP)).join('|')})${B_END}))`,
    'g',
  ),
  // "she is 12", "she's 14", "he was 9", "who is only 13" (same quantity exclusions as "looks")
  new RegExp(
    `${B_START}(?:she|he|who|i|they)(?:\\s*['\u2019]\\s*(?:s|m|re)|${GAP}(?:is|was|am|are|were))${GAP}` +
      `(?:(?:only|just|barely|about|around)${GAP})?${NUM}${B_END}` +
      `(?!\\s*(?:[%/]|(?:${NOT_AN_AGE_AFTER.map((w) => phraseSource(w, GAP)).join('|')})${B_END}))`,
    'g',
  ),
];

/** School grades 1-12 are minors by definition: "7th grade", "7th grader", "seventh grader". */
const GRADE_RE = new RegExp(
  `${B_START}(?:\\d{1,2}(?:st|nd|rd|th)${J}grade(?:rs?)?|(?:${ORDINAL_GRADES.join('|')})${GAP}graders?)${B_END}`,
);

function ageValue(raw: string): number {
  if (/^\d+$/.test(raw)) return Number(raw);
  const idx = MINOR_NUMBER_WORDS.indexOf(raw);
  return idx === -1 ? Number.NaN : idx;
}

function mentionsMinorAge(text: string): boolean {
  if (GRADE_RE.test(text)) return true;
  for (const re of AGE_PATTERNS) {
    for (const m of text.matchAll(re)) {
      if (ageValue(m[1]!) < 18) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

function refuse(rule: PolicyRule): PolicyDecision {
  return { allowed: false, reason: POLICY_MESSAGES[rule], rule };
}

/**
 * Decides whether a generation prompt may be queued. Pure and deterministic.
 * Refuses sexualised-minor terms outright, and the combination of a minor
 * reference with sexual or nudity wording; everything else is allowed.
 */
export function checkContentPolicy(prompt: string): PolicyDecision {
  const forms = textForms(normaliseForPolicy(typeof prompt === 'string' ? prompt : ''));

  if (forms.some((t) => matchesAnyTerm(t, SEXUALISED_MINOR_RES))) {
    return refuse(POLICY_RULES.sexualisedMinorTerm);
  }

  const minor = forms.some((t) => matchesAnyTerm(t, MINOR_RES) || mentionsMinorAge(t));
  if (minor && forms.some((t) => matchesAnyTerm(t, SEXUAL_RES))) {
    return refuse(POLICY_RULES.minorSexualContent);
  }

  return { allowed: true };
}
