// The corpus of the default model (models/rlcd-story-base): short children's stories from a
// probabilistic grammar of our own, so that anyone can regenerate it without downloading anything.
//
// Each story has a premise, a setup, a body and an ending. The body has a mood (happy or sad, one
// half each) that every event, feeling and ending follows; in three stories of ten the mood turns
// once ("But then ..."). Mood sentences take the forms of the positive-story task's cues ("Everyone
// was happy and ...", "They were sad and ..."), so a model trained on the corpus learns that what
// follows such a cue carries its mood: the contrast RLCD needs. Characters carry a gender through
// pronouns, friends, objects and places recur inside a story, and sentences combine many slots, so
// the model has to learn agreement and reference, not one template.
import { hashInts, mulberry32 } from '../../src/util/random.js';

type Rand = () => number;
type Mood = 'happy' | 'sad';

interface Character {
  name: string;
  kind: string;
  he: 'he' | 'she';
  his: 'his' | 'her';
  him: 'him' | 'her';
}

const KIDS: Array<[string, 'f' | 'm']> = [
  ['Lily', 'f'], ['Mia', 'f'], ['Anna', 'f'], ['Sue', 'f'], ['Zoe', 'f'], ['Emma', 'f'], ['Rosa', 'f'], ['Kate', 'f'], ['Lucy', 'f'], ['Amy', 'f'], ['Nina', 'f'], ['Ella', 'f'],
  ['Tom', 'm'], ['Ben', 'm'], ['Sam', 'm'], ['Max', 'm'], ['Tim', 'm'], ['Jack', 'm'], ['Leo', 'm'], ['Finn', 'm'], ['Joe', 'm'], ['Dan', 'm'], ['Noah', 'm'], ['Luke', 'm'],
];
const ANIMALS: Array<[string, string, 'f' | 'm']> = [
  ['Spot', 'dog', 'm'], ['Rex', 'dog', 'm'], ['Buddy', 'puppy', 'm'], ['Kitty', 'cat', 'f'], ['Mittens', 'kitten', 'f'], ['Hoppy', 'bunny', 'm'],
  ['Tweety', 'bird', 'f'], ['Fred', 'frog', 'm'], ['Bella', 'bear', 'f'], ['Daisy', 'duck', 'f'], ['Coco', 'monkey', 'f'], ['Ollie', 'owl', 'm'],
];
const KID_ADJ = ['little', 'kind', 'curious', 'brave', 'shy', 'small', 'young', 'playful', 'quiet', 'clever', 'funny', 'busy'];
const ANIMAL_ADJ = ['little', 'fluffy', 'small', 'friendly', 'brown', 'white', 'tiny', 'old', 'fast', 'sleepy'];
const PLACES = ['the park', 'the garden', 'the beach', 'the forest', 'the farm', 'the pond', 'the big hill', 'the school', 'the river', 'the zoo', 'the market', 'the yard', 'the lake', 'the meadow'];
const THINGS = ['ball', 'kite', 'stone', 'toy car', 'teddy bear', 'boat', 'drum', 'box', 'hat', 'book', 'balloon', 'doll', 'train', 'bike', 'shell', 'blanket'];
const THING_ADJ = ['red', 'blue', 'shiny', 'big', 'little', 'green', 'soft', 'yellow', 'new', 'old', 'round', 'pink'];
const FOODS = ['cake', 'apple pie', 'cookies', 'sandwiches', 'ice cream', 'soup', 'berries', 'bread', 'candy', 'pancakes'];
const FAMILY = ['mom', 'dad', 'grandma', 'grandpa', 'big sister', 'big brother', 'aunt'];
const ACTIVITIES = ['sing', 'draw', 'run', 'jump', 'dance', 'read', 'swim', 'climb trees', 'build things', 'paint', 'play games', 'look at the stars'];
const WEATHER = ['sunny', 'rainy', 'windy', 'cold', 'warm', 'cloudy', 'snowy', 'bright'];
const TIMES = ['morning', 'day', 'afternoon', 'evening'];

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function character(r: Rand, animalChance = 0.3): Character {
  if (r() < animalChance) {
    const [name, kind, g] = pick(r, ANIMALS);
    return { name, kind, ...(g === 'f' ? { he: 'she', his: 'her', him: 'her' } as const : { he: 'he', his: 'his', him: 'him' } as const) };
  }
  const [name, g] = pick(r, KIDS);
  return { name, kind: g === 'f' ? 'girl' : 'boy', ...(g === 'f' ? { he: 'she', his: 'her', him: 'her' } as const : { he: 'he', his: 'his', him: 'him' } as const) };
}

/** Everything one story refers back to. */
interface Cast {
  hero: Character;
  friend: Character;
  thing: string;
  place: string;
  food: string;
  family: string;
}

function cast(r: Rand): Cast {
  const hero = character(r);
  let friend = character(r, 0.5);
  while (friend.name === hero.name) friend = character(r, 0.5);
  return { hero, friend, thing: `${pick(r, THING_ADJ)} ${pick(r, THINGS)}`, place: pick(r, PLACES), food: pick(r, FOODS), family: pick(r, FAMILY) };
}

/** A template per entry; `${...}` slots are filled from the cast. */
type Template = (c: Cast, r: Rand) => string;

const PREMISES: Template[] = [
  (c, r) => `Once upon a time, there was a ${pick(r, c.hero.kind === 'girl' || c.hero.kind === 'boy' ? KID_ADJ : ANIMAL_ADJ)} ${c.hero.kind} named ${c.hero.name}.`,
  (c) => `Once upon a time, ${c.hero.name} lived in a small house near ${c.place}.`,
  (c) => `One day, ${c.hero.name} went to ${c.place} with ${c.hero.his} ${c.family}.`,
  (c, r) => `There was a ${pick(r, c.hero.kind === 'girl' || c.hero.kind === 'boy' ? KID_ADJ : ANIMAL_ADJ)} ${c.hero.kind} named ${c.hero.name} who loved to ${pick(r, ACTIVITIES)}.`,
  (c, r) => `One ${pick(r, WEATHER)} ${pick(r, TIMES)}, ${c.hero.name} woke up early.`,
  (c) => `Once upon a time, ${c.hero.name} had a ${c.thing}.`,
  (c) => `One day, ${c.hero.name} and ${c.friend.name} went to ${c.place}.`,
  (c, r) => `There once was a ${c.hero.kind} named ${c.hero.name} who lived near ${c.place} with ${c.hero.his} ${pick(r, FAMILY)}.`,
];

const SETUP: Template[] = [
  (c) => `${cap(c.hero.he)} liked to play with ${c.hero.his} ${c.thing}.`,
  (c) => `${c.hero.name} had a friend named ${c.friend.name}.`,
  (c, r) => `Every day, ${c.hero.he} went to ${c.place} to ${pick(r, ACTIVITIES)}.`,
  (c) => `${cap(c.hero.he)} saw a ${c.thing} near ${c.place}.`,
  (c) => `"Let us go to ${c.place}," said ${c.hero.name}.`,
  (c) => `${c.hero.name} wanted to show ${c.friend.name} ${c.hero.his} ${c.thing}.`,
  (c) => `${cap(c.hero.his)} ${c.family} made ${c.food} for lunch.`,
  (c, r) => `The sky was ${pick(r, ['blue', 'grey', 'big', 'wide'])} and the wind was ${pick(r, ['soft', 'strong', 'cool', 'quiet'])}.`,
  (c) => `${c.hero.name} put the ${c.thing} in a bag and walked to ${c.place}.`,
];

const HAPPY_CLAUSES: Template[] = [
  () => 'they played together all day',
  () => 'they sang a happy song',
  () => 'they danced in the sun',
  (c) => `they laughed at the funny ${pick(mulberry32(c.hero.name.length), ['dog', 'duck', 'frog', 'cat'])}`,
  (c) => `they ate the ${c.food} together`,
  () => 'they hugged each other',
  (c) => `they smiled at ${c.hero.name}`,
  () => 'they had lots of fun',
  () => 'they shared their toys',
  (c) => `they played with the ${c.thing}`,
  () => 'they told funny jokes',
  () => 'they made a beautiful picture',
  () => 'they cheered and clapped',
];

const SAD_CLAUSES: Template[] = [
  () => 'they cried for a long time',
  () => 'nobody wanted to play',
  () => 'they went home alone',
  () => 'the day was ruined',
  () => 'they did not talk',
  () => 'they felt cold and tired',
  (c) => `the ${c.thing} was broken`,
  () => 'they sat in the dark',
  () => 'they were scared of the storm',
  (c) => `they missed ${c.hero.name}`,
  () => 'nobody smiled',
  () => 'they were angry and upset',
  () => 'they could not find their way home',
];

/** The task's cue forms, then a clause of the same mood. */
const MOOD_SENTENCES: Record<Mood, Template[]> = {
  happy: [
    (c, r) => `Everyone was happy and ${pick(r, HAPPY_CLAUSES)(c, r)}.`,
    (c, r) => `They were happy and ${pick(r, HAPPY_CLAUSES)(c, r)}.`,
    (c, r) => `Everyone felt happy and ${pick(r, HAPPY_CLAUSES)(c, r)}.`,
  ],
  sad: [
    (c, r) => `Everyone was sad and ${pick(r, SAD_CLAUSES)(c, r)}.`,
    (c, r) => `They were sad and ${pick(r, SAD_CLAUSES)(c, r)}.`,
    (c, r) => `Everyone felt sad and ${pick(r, SAD_CLAUSES)(c, r)}.`,
  ],
};

const EVENTS: Record<Mood, Template[]> = {
  happy: [
    (c) => `${c.hero.name} found a ${c.thing} under a tree.`,
    (c) => `${c.hero.name} and ${c.friend.name} played with the ${c.thing} all day.`,
    () => 'They laughed and sang a happy song.',
    (c) => `${c.friend.name} gave ${c.hero.name} a big hug.`,
    () => 'The sun was warm and the sky was blue.',
    (c) => `"This is the best day ever!" said ${c.hero.name}.`,
    (c) => `${c.hero.name} shared ${c.hero.his} ${c.food} with ${c.friend.name}.`,
    (c) => `${cap(c.hero.he)} felt proud and glad.`,
    (c) => `${c.friend.name} smiled and said, "I love to play with you!"`,
    (c) => `${cap(c.hero.his)} ${c.family} gave ${c.hero.him} a nice present.`,
    (c) => `${c.hero.name} helped ${c.friend.name} and ${c.friend.he} was very thankful.`,
    (c) => `They built a big castle at ${c.place}.`,
    (c) => `${c.hero.name} was so excited that ${c.hero.he} jumped up and down.`,
    (c) => `"Thank you!" said ${c.friend.name}, and ${c.friend.he} laughed.`,
  ],
  sad: [
    (c) => `${c.hero.name} lost ${c.hero.his} ${c.thing} at ${c.place}.`,
    (c) => `${c.friend.name} took the ${c.thing} and ran away.`,
    (c) => `It started to rain and the ${c.thing} got wet.`,
    (c) => `${c.hero.name} fell down and hurt ${c.hero.his} knee.`,
    (c) => `"Go away!" said ${c.friend.name}.`,
    (c) => `${c.hero.name} cried and cried.`,
    (c) => `${cap(c.hero.he)} felt sad and alone.`,
    (c) => `${c.friend.name} was mean to ${c.hero.name}.`,
    (c) => `The ${c.food} fell on the ground and got dirty.`,
    (c) => `${cap(c.hero.his)} ${c.family} was angry and said no.`,
    (c) => `${c.hero.name} was scared and wanted to go home.`,
    (c) => `A big storm came and broke the ${c.thing}.`,
    (c) => `Nobody wanted to play with ${c.hero.name}.`,
    (c) => `"I hate this day," said ${c.hero.name}, and ${c.hero.he} cried.`,
  ],
};

const TURNS: Record<Mood, Template[]> = {
  // The sentence that turns a story into this mood.
  happy: [(c) => `But then, ${c.friend.name} came to help.`, () => 'But then, the sun came out.', (c) => `But then, ${c.hero.his} ${c.family} came with a surprise.`],
  sad: [() => 'But then, something bad happened.', () => 'But then, dark clouds came.', (c) => `But then, ${c.friend.name} got angry.`],
};

const ENDINGS: Record<Mood, Template[]> = {
  happy: [
    (c) => `In the end, ${c.hero.name} and ${c.friend.name} were best friends.`,
    (c) => `${c.hero.name} smiled and went to sleep.`,
    () => 'It was a wonderful day.',
    (c) => `From that day on, ${c.hero.he} was always happy.`,
    (c) => `${c.hero.name} loved ${c.hero.his} ${c.thing} very much.`,
  ],
  sad: [
    (c) => `In the end, ${c.hero.name} went home sad.`,
    (c) => `${c.hero.name} never saw the ${c.thing} again.`,
    () => 'It was a bad day.',
    (c) => `${c.hero.name} went to bed and cried.`,
    (c) => `${c.hero.name} and ${c.friend.name} were not friends anymore.`,
  ],
};

const CONNECTORS = ['', '', '', 'Then, ', 'Later, ', 'After that, ', 'Soon, '];

/** Lower-cases the first letter of a sentence that follows a connector (but not a name or a quote). */
function join(connector: string, sentence: string): string {
  if (!connector || sentence.startsWith('"')) return sentence;
  const first = sentence.split(/[ ,]/)[0]!;
  const keep = /^[A-Z][a-z]+$/.test(first) && [...KIDS.map((k) => k[0]), ...ANIMALS.map((a) => a[0])].includes(first);
  return connector + (keep ? sentence : sentence.charAt(0).toLowerCase() + sentence.slice(1));
}

/** Story number `index` of the corpus made with `seed`: the same text for the same pair, anywhere. */
export function story(seed: number, index: number): { text: string; premise: string; mood: Mood; turned: boolean } {
  const r = mulberry32(hashInts(seed, index, 0x5707));
  const c = cast(r);
  const premise = pick(r, PREMISES)(c, r);
  const sentences = [premise];
  const setups = 1 + Math.floor(r() * 2);
  for (let i = 0; i < setups; i++) sentences.push(pick(r, SETUP)(c, r));
  let mood: Mood = r() < 0.5 ? 'happy' : 'sad';
  const turned = r() < 0.3;
  const events = 3 + Math.floor(r() * 3);
  const turnAt = turned ? 1 + Math.floor(r() * (events - 1)) : -1;
  const used = new Set<string>();
  for (let i = 0; i < events; i++) {
    if (i === turnAt) {
      mood = mood === 'happy' ? 'sad' : 'happy';
      sentences.push(pick(r, TURNS[mood])(c, r));
    }
    let s = '';
    for (let tries = 0; tries < 4 && (s === '' || used.has(s)); tries++) {
      s = r() < 0.3 ? pick(r, MOOD_SENTENCES[mood])(c, r) : pick(r, EVENTS[mood])(c, r);
    }
    used.add(s);
    sentences.push(i === 0 || s.startsWith('Everyone') || s.startsWith('They were') ? s : join(pick(r, CONNECTORS), s));
  }
  const ending = pick(r, ENDINGS[mood])(c, r);
  const text = sentences.join(' ') + (r() < 0.3 ? '\n' : ' ') + ending;
  return { text, premise, mood, turned };
}
