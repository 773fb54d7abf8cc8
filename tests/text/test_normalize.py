"""TextNormalizer: tables of (raw, spoken) per rule, idempotence, output alphabet."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthaudio.errors import InputError
from synthaudio.text.normalize import TextNormalizer, words

EN = TextNormalizer("en")

CARDINALS = [
    ("23", "twenty three"),
    ("0", "zero"),
    ("7", "seven"),
    ("101", "one hundred one"),
    ("1,234", "one thousand two hundred thirty four"),
    ("1,000,000", "one million"),
    ("2,500,000 people", "two million five hundred thousand people"),
    ("45,000", "forty five thousand"),
    ("12,34", "twelve thirty four"),  # not a valid grouping: two numbers
    ("mp3", "mp three"),
]
DECIMALS_AND_SIGNS = [
    ("3.5", "three point five"),
    ("3.14", "three point one four"),
    ("0.5", "zero point five"),
    (".5", "point five"),
    ("1,234.5", "one thousand two hundred thirty four point five"),
    ("-5", "minus five"),
    ("-3.5", "minus three point five"),
    ("from -12 to 4", "from minus twelve to four"),
    ("3-4", "three four"),  # a dash between numbers is not a minus
]
ORDINALS = [
    ("1st", "first"),
    ("2nd", "second"),
    ("3rd", "third"),
    ("22nd", "twenty second"),
    ("101st", "one hundred first"),
    ("the 30th birthday", "the thirtieth birthday"),
    ("We moved on the 1st.", "we moved on the first"),
]
YEARS = [
    ("in 1999", "in nineteen ninety nine"),
    ("1905", "nineteen oh five"),
    ("2005", "two thousand five"),
    ("2010", "twenty ten"),
    ("1100", "eleven hundred"),
    ("2099", "twenty ninety nine"),
    ("1099", "one thousand ninety nine"),  # below the year range
    ("2100", "two thousand one hundred"),  # above the year range
    ("1,999", "one thousand nine hundred ninety nine"),  # grouped: a quantity
    ("the 1990s", "the nineteen nineties"),
    ("the '80s", "the eighties"),
    ("the 1800s", "the eighteen hundreds"),
]
CURRENCY = [
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$3.50", "three dollars fifty cents"),
    ("$0.99", "ninety nine cents"),
    ("$1.01", "one dollar one cent"),
    ("$450,000", "four hundred fifty thousand dollars"),
    ("$2.5 million", "two point five million dollars"),
    ("-$5", "minus five dollars"),
    ("€2", "two euros"),
    ("€1.20", "one euro twenty cents"),
    ("£1", "one pound"),
    ("£7.99", "seven pounds ninety nine pence"),
    ("¥500", "five hundred yen"),
    ("5€", "five euros"),
]
PERCENT_UNITS_SYMBOLS = [
    ("50%", "fifty percent"),
    ("4.5%", "four point five percent"),
    ("100 %", "one hundred percent"),
    ("5 km", "five kilometers"),
    ("1 kg", "one kilogram"),
    ("20°C", "twenty degrees celsius"),
    ("rock & roll", "rock and roll"),
    ("2+2=4", "two plus two equals four"),
    ("AT&T", "at and t"),
    ("mail me @ home", "mail me at home"),
]
TIMES = [
    ("3:45", "three forty five"),
    ("7:00", "seven o'clock"),
    ("10:05", "ten oh five"),
    ("12:30", "twelve thirty"),
    ("3:45 pm", "three forty five p m"),
    ("7:00 a.m.", "seven a m"),
    ("11:00 PM", "eleven p m"),
    ("3pm", "three p m"),
    ("at 6 am", "at six a m"),
    ("13:00", "thirteen hundred"),
    ("14:30", "fourteen thirty"),
    ("0:45", "zero forty five"),
    ("25:99", "twenty five ninety nine"),  # not a time
    ("5 a man", "five a man"),  # "a m..." inside a word is not am
]
DATES = [
    ("2024-03-05", "march fifth twenty twenty four"),
    ("on 1990-07-14.", "on july fourteenth nineteen ninety"),
    ("2020-02-29", "february twenty ninth twenty twenty"),
    ("2023-02-30", "two zero two three zero two three zero"),  # no such day: digits
    ("March 5, 2024", "march fifth twenty twenty four"),
    ("July 4th", "july fourth"),
    ("5 May", "fifth of may"),
    ("the 2nd of September", "the second of september"),
    ("you may 5", "you may five"),  # lower-case "may" is not a month
]
ABBREVIATIONS = [
    ("Dr. Smith", "doctor smith"),
    ("Mr. and Mrs. Jones", "mister and missus jones"),
    ("Ms. Lee", "miz lee"),
    ("Main St. is closed", "main street is closed"),
    ("St. Louis", "saint louis"),
    ("meet at St. Paul's", "meet at saint paul's"),
    ("apples, pears, etc.", "apples pears et cetera"),
    ("fruit, e.g. apples", "fruit for example apples"),
    ("i.e. this", "that is this"),
    ("Ali vs. Frazier", "ali versus frazier"),
    ("cats vs dogs", "cats versus dogs"),
    ("No. 5", "number five"),
    ("#1 fan", "number one fan"),
    ("the U.S.A.", "the u s a"),
    ("Jan. 3rd", "january third"),
    ("I said no.", "i said no"),
]
DIGIT_STRINGS = [
    ("007", "zero zero seven"),
    ("05", "zero five"),
    ("4 7 1 9", "four seven one nine"),
    ("0 3 5", "zero three five"),
    ("1234567", "one two three four five six seven"),
    ("call 555-1234", "call five five five one two three four"),
    ("(555) 123-4567", "five five five one two three four five six seven"),
    ("555 123 4567", "five five five one two three four five six seven"),
    ("555.123.4567", "five five five one two three four five six seven"),
    ("+1 555 123 4567", "plus one five five five one two three four five six seven"),
    ("555 3456", "five hundred fifty five three thousand four hundred fifty six"),  # 2 groups
]
UNICODE_AND_PUNCTUATION = [
    ("don't", "don't"),
    ("It’s “quoted” — here…", "it's quoted here"),
    ("students' books", "students books"),
    ("rock 'n' roll", "rock n roll"),
    ("well-known", "well known"),
    ("Café naïve Øre straße", "cafe naive ore strasse"),
    ("ｆｕｌｌ１２", "full twelve"),
    ("x²", "x two"),
    ("٣ apples", "three apples"),
    ("  Hello,\tWORLD!\n", "hello world"),
    ("你好 hello", "hello"),
    ("!!!", ""),
    ("---", ""),
    ("", ""),
    ("$", ""),
]

TABLE = (CARDINALS + DECIMALS_AND_SIGNS + ORDINALS + YEARS + CURRENCY + PERCENT_UNITS_SYMBOLS
         + TIMES + DATES + ABBREVIATIONS + DIGIT_STRINGS + UNICODE_AND_PUNCTUATION)


def test_table_is_large_and_unique() -> None:
    assert len(TABLE) >= 60
    assert len({raw for raw, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("raw", "spoken"), TABLE)
def test_english_table(raw: str, spoken: str) -> None:
    assert EN(raw) == spoken


@pytest.mark.parametrize(("raw", "spoken"), TABLE)
def test_output_is_a_fixed_point(raw: str, spoken: str) -> None:
    assert EN(spoken) == spoken


OTHER_LANGUAGES = [
    ("de", "Es kostet 3,50 €", "es kostet drei euro fünfzig cent"),
    ("de", "1.234 Stück", "eintausendzweihundertvierunddreißig stück"),
    ("de", "um 15:30 Uhr", "um fünfzehn dreißig uhr"),
    ("de", "50% Größe", "fünfzig prozent größe"),
    ("de-DE", "Äpfel & Birnen", "äpfel und birnen"),
    ("fr", "L'homme a 21 ans", "l'homme a vingt et un ans"),
    ("fr-fr", "3,5 kg", "trois virgule cinq kg"),
    ("es", "Tengo 2 perros", "tengo dos perros"),
    ("it", "3,14 e 5%", "tre virgola uno quattro e cinque per cento"),
    ("ru", "Мне 21 год", "мне двадцать один год"),
]


@pytest.mark.parametrize(("lang", "raw", "spoken"), OTHER_LANGUAGES)
def test_other_languages(lang: str, raw: str, spoken: str) -> None:
    normalize = TextNormalizer(lang)
    assert normalize(raw) == spoken
    assert normalize(spoken) == spoken


@pytest.mark.parametrize("lang", ["en", "en-us", "en-gb", "EN_us", "en-gb-x-rp"])
def test_english_variants_agree(lang: str) -> None:
    assert TextNormalizer(lang)("1,234 on 2024-03-05") == (
        "one thousand two hundred thirty four on march fifth twenty twenty four")


@pytest.mark.parametrize("lang", ["cmn", "zz", "", "klingon"])
def test_unsupported_language_raises(lang: str) -> None:
    with pytest.raises(InputError, match=re.escape(repr(lang))) as info:
        TextNormalizer(lang)
    assert "\n" not in str(info.value)


def test_words_splits_spoken_form() -> None:
    assert words(EN("Dr. Smith paid $3.50")) == [
        "doctor", "smith", "paid", "three", "dollars", "fifty", "cents"]
    assert words("") == []


_TOKENS = ["Dr.", "St.", "e.g.", "vs", "etc", "a.m.", "pm", "1999", "2024-03-05", "March",
           "1st", "'", "--", "555", "0", ".", ",", "km", "$", "€", "%", "No.", "Mr", "3:45",
           "é", "’", "ı", "٣", "_", "&", "+", "(", ")", "#"]
_ENGLISH_INPUT = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(_TOKENS), st.sampled_from(list("0123456789 -.:aAmMsS")),
                       st.text(max_size=3)), max_size=20).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ENGLISH_INPUT)
def test_english_output_alphabet_and_fixed_point(raw: str) -> None:
    spoken = EN(raw)
    assert re.fullmatch(r"[a-z' ]*", spoken)
    assert "  " not in spoken and spoken == spoken.strip()
    assert all(w.strip("'") == w for w in spoken.split())  # apostrophes only inside words
    assert EN(spoken) == spoken
