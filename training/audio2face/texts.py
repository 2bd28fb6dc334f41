"""Varied English sentences from word lists and a small grammar: no dataset download.

Statements, questions, commands, exclamations, numbers, names and lists, in
lengths from three words to long compound sentences. Every list is split
once (seeded) into training and held-out words, so held-out sentences also
carry words the network never heard.
"""

from __future__ import annotations

import random

NOUNS = """
map boat bridge village garden mountain river castle forest window kitchen market
harbour letter message question answer problem promise secret journey weather morning
evening winter summer dinner breakfast coffee chocolate pepper butter bottle basket
pocket jacket shoe glove mirror picture camera phone computer keyboard engine machine
wheel ladder hammer rope shovel bucket blanket pillow feather mushroom pumpkin banana
potato tomato apple orange lemon cherry melon violin guitar piano trumpet drum song
story movie theatre museum library school office hospital doctor teacher farmer
soldier sailor pilot captain driver baker painter friend brother sister mother father
neighbour stranger wizard dragon monster robot puppy kitten rabbit horse sheep wolf
bear monkey zebra giraffe beetle spider owl pigeon whale shark dolphin treasure
sword shield armour potion scroll crystal lantern torch campfire cavern tunnel
valley island desert ocean meadow swamp tower temple palace prison dungeon
wagon carriage rocket planet comet moon star cloud thunder rainbow shadow voice
breath smile heart feeling worry fear hope courage patience memory dream plan
idea choice chance moment minute hour week month year birthday holiday party
""".split()

ADJECTIVES = """
big small tiny huge old young new ancient modern quiet loud soft rough smooth warm
cold hot cool bright dark pale deep shallow heavy light empty full broken perfect
strange familiar lovely ugly pretty clever foolish brave timid gentle cruel kind
angry happy sad calm nervous anxious tired sleepy hungry thirsty busy lazy lucky
careful careless honest proud humble simple complex cheap expensive rich poor
purple yellow orange golden silver crimson green blue muddy dusty frozen wooden
magic secret hidden famous boring exciting peaceful dangerous lonely cheerful
""".split()

VERBS = """
open:opened:opens close:closed:closes find:found:finds keep:kept:keeps bring:brought:brings
carry:carried:carries push:pushed:pushes pull:pulled:pulls paint:painted:paints
build:built:builds break:broke:breaks fix:fixed:fixes buy:bought:buys sell:sold:sells
watch:watched:watches follow:followed:follows help:helped:helps visit:visited:visits
borrow:borrowed:borrows return:returned:returns cook:cooked:cooks bake:baked:bakes
clean:cleaned:cleans wash:washed:washes hide:hid:hides show:showed:shows
teach:taught:teaches remember:remembered:remembers forget:forgot:forgets
choose:chose:chooses throw:threw:throws catch:caught:catches move:moved:moves
protect:protected:protects warn:warned:warns thank:thanked:thanks miss:missed:misses
measure:measured:measures describe:described:describes explore:explored:explores
deliver:delivered:delivers examine:examined:examines polish:polished:polishes
""".split()

INTRANSITIVE = """
sleep:slept:sleeps laugh:laughed:laughs smile:smiled:smiles wait:waited:waits
walk:walked:walks run:ran:runs jump:jumped:jumps swim:swam:swims dance:danced:dances
sing:sang:sings shout:shouted:shouts whisper:whispered:whispers listen:listened:listens
arrive:arrived:arrives leave:left:leaves rest:rested:rests work:worked:works
breathe:breathed:breathes wonder:wondered:wonders agree:agreed:agrees hurry:hurried:hurries
""".split()

NAMES = """
Anna Ben Maria Peter Sophie Paul Emma Mike Olivia Bob Mia Tom Zoe Sam Lucy Max Ruth
Jack Nora Oscar Beth Victor Fiona Hugo Alice Theo Molly Gabe Wendy Yusuf Priya Kenji
""".split()

ADVERBS = """
quickly slowly quietly loudly carefully gently happily sadly suddenly finally always
never often rarely simply really truly barely nearly almost perhaps maybe together
""".split()

PLACES = "at home|in the park|by the sea|on the roof|under the bridge|at school|in town"
TIMES = "today|tomorrow|yesterday|tonight|this morning|last week|next summer|right now"
PREPS = "with|for|near|behind|beside|under|above|without|from|into|toward|past"
OPENERS = (
    "Oh|Well|Look|Listen|Wait|Hey|Honestly|Of course|By the way|You know|Right|Okay|"
    "I think|I believe|I hope|I wonder if|It seems|Please|Sorry|Thank you"
)
FEELINGS = (
    "I understand how you feel|That sounds really hard|I'm here for you|Take your time|"
    "You did your best|It's okay to be upset|We can work through this together|"
    "Tell me more about it|That must have been frightening|I'm so glad you told me"
)
EXCLAIM = "Wow|Oh no|Amazing|Careful|Watch out|Hurry up|Bravo|Goodness me|Oops|Hooray"
UNITS = "one two three four five six seven eight nine ten eleven twelve".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
PRONOUNS = [("I", 1), ("you", 1), ("we", 1), ("they", 1), ("he", 3), ("she", 3)]


def _split(words: list[str], rng: random.Random, share: float) -> tuple[list[str], list[str]]:
    shuffled = sorted(words)
    rng.shuffle(shuffled)
    cut = max(1, int(len(shuffled) * share))
    return shuffled[cut:], shuffled[:cut]


class SentenceMaker:
    """Seeded sentences; `held_out=True` draws from the words training never sees too."""

    def __init__(self, seed: int, held_out: bool = False, held_out_share: float = 0.15) -> None:
        split_rng = random.Random(1234)  # the same word split for every maker
        self._rng = random.Random(seed)
        lists = {}
        for name, words in (("noun", NOUNS), ("adj", ADJECTIVES), ("verb", VERBS),
                            ("vi", INTRANSITIVE), ("name", NAMES)):  # fmt: skip
            train, test = _split(words, split_rng, held_out_share)
            lists[name] = train + test if held_out else train
        self._w = lists

    def _pick(self, key: str) -> str:
        return self._rng.choice(self._w[key])

    def _choice(self, options: str) -> str:
        return self._rng.choice(options.split("|"))

    def _number(self) -> str:
        r = self._rng.random()
        if r < 0.5:
            return self._rng.choice(UNITS)
        if r < 0.85:
            return f"{self._rng.choice(TENS)} {self._rng.choice(UNITS[:9])}"
        return f"{self._rng.choice(UNITS[:9])} hundred and {self._rng.choice(TENS)}"

    def _np(self) -> str:
        r = self._rng.random()
        if r < 0.15:
            return self._pick("name")
        det = self._rng.choice(["the", "a", "my", "your", "this", "that", "our", "every"])
        adj = f"{self._pick('adj')} " if self._rng.random() < 0.5 else ""
        if r < 0.25:
            return f"{self._number()} {adj}{self._pick('noun')}s"
        if det == "a" and (adj or self._pick("noun"))[0] in "aeiou":
            det = "an"
        return f"{det} {adj}{self._pick('noun')}"

    def _vp(self, person: int, tense: str, subject: str = "") -> str:
        r = self._rng.random()
        form = {"past": 1, "present": 2 if person == 3 else 0}.get(tense, 0)
        if r < 0.6:
            verb = self._pick("verb").split(":")[form]
            tail = f" {self._choice(PREPS)} {self._np()}" if self._rng.random() < 0.4 else ""
            return f"{verb} {self._np()}{tail}"
        if r < 0.85:
            verb = self._pick("vi").split(":")[form]
            adv = f" {self._rng.choice(ADVERBS)}" if self._rng.random() < 0.5 else ""
            return f"{verb}{adv} {self._choice(PLACES)}"
        if subject == "I":
            be = "was" if tense == "past" else "am"
        elif person == 3:
            be = "was" if tense == "past" else "is"
        else:
            be = "were" if tense == "past" else "are"
        return f"{be} {self._pick('adj')}"

    def _clause(self) -> str:
        tense = self._rng.choice(["past", "present", "past"])
        if self._rng.random() < 0.4:
            subject, person = self._rng.choice(PRONOUNS)
        else:
            subject, person = self._np(), 3
        vp = self._vp(person, tense, subject)
        time = f" {self._choice(TIMES)}" if self._rng.random() < 0.3 else ""
        return f"{subject} {vp}{time}"

    def sentence(self) -> str:
        r = self._rng.random()
        if r < 0.4:
            text = self._clause()
            if self._rng.random() < 0.35:
                text += f", {self._rng.choice(['and', 'but', 'so', 'because'])} {self._clause()}"
            text = _cap(text) + self._rng.choice([".", ".", ".", "!"])
        elif r < 0.55:
            aux = self._rng.choice(["Did", "Can", "Will", "Should", "Would"])
            verb = self._pick("verb").split(":")[0]
            text = f"{aux} {self._rng.choice(['you', 'we', 'they', 'she'])} {verb} {self._np()}?"
        elif r < 0.65:
            wh = self._rng.choice(["Where is", "Who took", "Why did you move", "What about"])
            text = f"{wh} {self._np()}?"
        elif r < 0.75:
            verb = self._pick("verb").split(":")[0]
            text = f"{_cap(verb)} {self._np()} {self._choice(PLACES)}, please."
        elif r < 0.83:
            text = f"{self._choice(OPENERS)}, {self._clause()}."
        elif r < 0.9:
            text = f"{self._choice(FEELINGS)}."
        elif r < 0.95:
            text = f"{self._choice(EXCLAIM)}! {_cap(self._np())} {self._vp(3, 'past')}!"
        else:
            items = [self._np() for _ in range(self._rng.randint(3, 4))]
            text = f"We need {', '.join(items[:-1])} and {items[-1]}."
        return text[0].upper() + text[1:]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentences(count: int, seed: int, held_out: bool = False, exclude: set[str] | None = None):
    """`count` distinct sentences (none of them in `exclude`)."""
    maker, seen, out = SentenceMaker(seed, held_out), set(exclude or ()), []
    while len(out) < count:
        text = maker.sentence()
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out
