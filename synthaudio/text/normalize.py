"""Raw prompt text -> spoken form: the lower-case words a TTS voice will say.

``TextNormalizer(lang)(raw)`` returns words separated by single spaces; for
English only ``[a-z']`` letters remain (accents are folded to ASCII), for other
languages letters of any script are kept, lower-cased. Punctuation is dropped,
an apostrophe survives only between two letters ("don't", "o'clock").

Rules, applied in this order (English unless marked "all"):

- abbreviations: "Dr." doctor, "Mr." mister, "St." street (saint before a
  capitalized name unless a capitalized word precedes it), "e.g." for example,
  "etc." et cetera, "vs." versus, "No. 5" number five, dotted acronyms
  "U.S." -> "u s"; the bare words "vs", "etc", "mr", "mrs", "dr" are expanded too.
- ISO dates (all) "2024-03-05" -> "march fifth twenty twenty four"; other
  languages read year, month and day as numbers in written order.
- "March 5" -> "march fifth", "5 March" -> "fifth of march" (capitalized month).
- times (all) "3:45" three forty five, "10:05" ten oh five, "7:00" seven o'clock,
  "13:00" thirteen hundred, "7:00 pm" seven p m, "3pm" three p m; other
  languages read hour and minute as cardinals.
- digit by digit (all): phone-like runs of 7 or more digits joined by dashes
  ("555-1234", "(555) 123-4567"), by dots ("555.123.4567", English), or by
  single spaces when there are 3+ groups ("555 123 4567") or a leading "+"/"(...)";
  unbroken runs of 7 or more digits ("0123456", "1234567"; write "1,234,567" for
  the cardinal); numbers of 2+ digits with a leading zero ("007"). "0" is "zero".
- currency (all) "$5" five dollars, "$3.50" three dollars fifty cents,
  "$2.5 million" two point five million dollars, "€2", "£1", "¥", "₹".
- percent, units after a number ("5 km", "20°C"), ordinals "22nd", decades "1990s".
- cardinals: English has no "and" ("one hundred one"), hyphens become spaces.
  Decimals read the fraction digit by digit ("three point one four").
  Grouping: English "1,234.5"; other languages "1.234,5" (and "3.5" as a decimal).
- years: a bare 4-digit number 1100-2099 (no sign, grouping, decimals, currency,
  percent or unit) is read as a year: "in 1999" -> "nineteen ninety nine",
  "2005" -> "two thousand five", "1500" -> "fifteen hundred".
- symbols: "&" and, "+" plus, "=" equals, "@" at, "%" percent, "°" degrees
  (small tables for de, fr, es, it, pt, nl; other languages drop symbols).

(Over 400 lines on purpose: the number, currency, time and date rules are one normalizer
whose rules must not disagree.)
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import Decimal

from num2words import CONVERTER_CLASSES, num2words

from synthaudio.errors import InputError

__all__ = ["TextNormalizer", "words"]

_MONTHS = ("january february march april may june july august september october "
           "november december").split()
_MONTH_RE = "|".join(m.capitalize() + "|" + m.upper() for m in _MONTHS)

# Dotted English abbreviations (case-insensitive, the dot is required).
_ABBREVIATIONS: dict[str, str] = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "prof": "professor",
    "jr": "junior", "sr": "senior", "ave": "avenue", "rd": "road", "blvd": "boulevard",
    "mt": "mount", "capt": "captain", "lt": "lieutenant", "sgt": "sergeant",
    "inc": "incorporated", "ltd": "limited", "corp": "corporation",
    "dept": "department", "approx": "approximately", "etc": "et cetera", "vs": "versus",
    "jan": "January", "feb": "February", "apr": "April", "jun": "June", "jul": "July",
    "aug": "August", "sep": "September", "sept": "September", "oct": "October",
    "nov": "November", "dec": "December",
}
# Bare words expanded on the final word list (so that the output is a fixed point).
_WORD_MAP = {"vs": "versus", "etc": "et cetera", "mr": "mister", "mrs": "missus",
             "dr": "doctor"}

_SYMBOLS: dict[str, dict[str, str]] = {
    "en": {"&": "and", "+": "plus", "=": "equals", "@": "at", "%": "percent",
           "°": "degrees"},
    "de": {"&": "und", "+": "plus", "=": "gleich", "%": "prozent", "°": "grad"},
    "fr": {"&": "et", "+": "plus", "=": "égal", "%": "pour cent", "°": "degrés"},
    "es": {"&": "y", "+": "más", "=": "igual", "%": "por ciento", "°": "grados"},
    "it": {"&": "e", "+": "più", "=": "uguale", "%": "per cento", "°": "gradi"},
    "pt": {"&": "e", "+": "mais", "=": "igual", "%": "por cento", "°": "graus"},
    "nl": {"&": "en", "+": "plus", "=": "is", "%": "procent", "°": "graden"},
}
# Decimal point word where num2words has none usable (None, or a tuple of forms).
_POINT_WORDS = {"it": "virgola"}

# symbol -> (ISO code, singular, plural, minor singular, minor plural); English words.
_CURRENCIES: dict[str, tuple[str, str, str, str, str]] = {
    "$": ("USD", "dollar", "dollars", "cent", "cents"),
    "€": ("EUR", "euro", "euros", "cent", "cents"),
    "£": ("GBP", "pound", "pounds", "penny", "pence"),
    "¥": ("JPY", "yen", "yen", "", ""),
    "₹": ("INR", "rupee", "rupees", "paisa", "paise"),
}
_CUR = "[$€£¥₹]"

# English units after a number: written form -> (singular, plural).
_UNITS: dict[str, tuple[str, str]] = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"), "ml": ("milliliter", "milliliters"),
    "lbs": ("pound", "pounds"), "lb": ("pound", "pounds"), "oz": ("ounce", "ounces"),
    "ft": ("foot", "feet"), "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"), "TB": ("terabyte", "terabytes"),
    "kHz": ("kilohertz", "kilohertz"), "Hz": ("hertz", "hertz"),
    "°C": ("degree celsius", "degrees celsius"),
    "°F": ("degree fahrenheit", "degrees fahrenheit"), "°": ("degree", "degrees"),
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))

_FOLD = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
         "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "ð": "d",
         "Ð": "D", "ı": "i"}
_QUOTES = str.maketrans({c: "'" for c in "‘’‚‛′ʼ`´"} | {c: '"' for c in "“”„‟″«»"}
                        | {c: "-" for c in "‐‑‒–—―−⁃"})

_SIGN = r"(?P<sign>(?<![0-9A-Za-z.,\-])-)?"
_AMPM = r"\s*(?P<ap>[AaPp])\.?\s*[Mm]\.?(?![A-Za-z])"

_ISO_DATE = re.compile(r"(?<![0-9\-])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9]|-[0-9])")
_MONTH_DAY = re.compile(
    rf"(?<![A-Za-z])({_MONTH_RE})\s+([0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9A-Za-z])")
_DAY_MONTH = re.compile(
    rf"(?<![0-9A-Za-z])([0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})(?![A-Za-z])")
_TIME = re.compile(
    rf"(?<![0-9:.,])([01]?[0-9]|2[0-3]):([0-5][0-9])(?![0-9]|:[0-9])(?:{_AMPM})?")
_HOUR_AMPM = re.compile(rf"(?<![0-9:.,])(1[0-2]|0?[1-9]){_AMPM}")
_PHONE_DASHED = re.compile(
    r"(?<![0-9A-Za-z.,])(?P<plus>\+?)(?P<body>(?:\([0-9]+\)\s?)?[0-9]+(?:-[0-9]+)+)"
    r"(?![0-9]|[-.,][0-9])")
_PHONE_SPACED = re.compile(
    r"(?<![0-9A-Za-z.,])(?P<plus>\+?)(?P<body>(?:\([0-9]+\)\s?)?[0-9]{1,5}(?: [0-9]{2,5})+)"
    r"(?![0-9]|[.,][0-9])")
_PHONE_DOTTED = re.compile(r"(?<![0-9A-Za-z.,])(?P<plus>)(?P<body>[0-9]{2,5}(?:\.[0-9]{2,5}){2,})"
                           r"(?![0-9]|[.,][0-9])")
_EG = re.compile(r"(?<![A-Za-z0-9])[Ee]\.\s?[Gg]\.")
_IE = re.compile(r"(?<![A-Za-z0-9])[Ii]\.\s?[Ee]\.")
_NUMBER_SIGN = re.compile(r"(?<![A-Za-z0-9])[Nn][Oo]\.\s?(?=[0-9])|#\s?(?=[0-9])")
_SAINT_STREET = re.compile(
    r"(?<![A-Za-z0-9])(?:(?P<before>[A-Z][A-Za-z]*)\s+)?[Ss][Tt]\.(?=(?P<after>\s*[A-Z])?)")
_DOTTED_ABBREVIATION = re.compile(rf"(?<![A-Za-z0-9])({'|'.join(_ABBREVIATIONS)})\.",
                                  re.IGNORECASE)
_ACRONYM = re.compile(r"(?<![A-Za-z0-9.])(?:[A-Za-z]\.){2,}"
                      r"|(?<![A-Za-z0-9.])(?:[A-Za-z]\.)+[A-Za-z](?![A-Za-z])")
_ASCII_DIGIT = re.compile(r"[0-9]")
_DECADE = re.compile(r"(?<![0-9A-Za-z])'?(1[1-9][0-9]0|20[0-9]0|[1-9]0)'?s(?![A-Za-z])")


def words(text: str) -> list[str]:
    """Split a spoken-form transcript (a ``TextNormalizer`` output) into its words."""
    return text.split()


def _resolve_lang(lang: str) -> tuple[str, str]:
    """Language tag ("en-us", "pt_BR") -> (base language, num2words language)."""
    parts = lang.strip().lower().replace("_", "-").split("-")
    base = parts[0]
    if base not in CONVERTER_CLASSES:
        raise InputError(f"unsupported text language {lang!r}: num2words has no number "
                         f"words for {base!r}")
    if base != "en" and len(parts) > 1 and f"{base}_{parts[1].upper()}" in CONVERTER_CLASSES:
        return base, f"{base}_{parts[1].upper()}"
    return base, base


def _fold_ascii(ch: str) -> str:
    """One letter -> its ASCII letters ("é" -> "e", "ß" -> "ss"), or " " if none."""
    folded = _FOLD.get(ch) or "".join(
        c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return folded if folded.isascii() and folded.isalpha() else " "


def _saint_or_street(m: re.Match[str]) -> str:
    """"St." is "saint" before a capitalized name, unless a capitalized word precedes it."""
    before = m.group("before")
    saint = m.group("after") is not None and before is None
    return f"{before or ''} {'saint' if saint else 'street'} "


def _pluralize(phrase: str) -> str:
    """'nineteen ninety' -> 'nineteen nineties' (last word only)."""
    head, _, last = phrase.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last.endswith("x")
                                                                 else "s")
    return f"{head} {last}".strip()


class TextNormalizer:
    """Raw text -> spoken form; see the module docstring for the rules."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang
        self._base, self._n2w_lang = _resolve_lang(lang)
        self._en = self._base == "en"
        self._symbols = _SYMBOLS.get(self._base, {})
        converter = CONVERTER_CLASSES[self._n2w_lang]
        point = _POINT_WORDS.get(self._base, getattr(converter, "pointword", None))
        self._point = point if isinstance(point, str) else None
        neg = getattr(converter, "negword", None)
        self._neg = neg.strip() if isinstance(neg, str) and neg.strip() else "minus"
        if self._en:
            integer = r"[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+"
            frac_sep = r"\."
        else:
            integer = r"[0-9]{1,3}(?:\.[0-9]{3})+(?![0-9])|[0-9]+"
            frac_sep = "[,.]"
        num = (rf"(?:(?<![0-9])(?P<int>{integer})|(?<![0-9A-Za-z.,])(?={frac_sep}[0-9]))"
               rf"(?:{frac_sep}(?P<frac>[0-9]+))?")
        self._number = re.compile(_SIGN + num)
        self._percent = re.compile(_SIGN + num + r"\s?%")
        self._units = re.compile(_SIGN + num + rf"\s?(?P<unit>{_UNIT_RE})(?![A-Za-z])")
        self._cur_pre = re.compile(
            _SIGN + rf"(?P<sym>{_CUR})\s?" + num
            + r"(?:\s+(?P<mag>thousand|million|billion|trillion)(?![A-Za-z]))?")
        self._cur_post = re.compile(_SIGN + num + rf"\s?(?P<sym>{_CUR})")
        self._ordinal = re.compile(rf"(?<![0-9])(?P<int>{integer})(?:st|nd|rd|th)(?![A-Za-z])",
                                   re.IGNORECASE)

    def __call__(self, raw: str) -> str:
        text = self._prepare(raw)
        if self._en:
            text = self._abbreviations(text)
        if _ASCII_DIGIT.search(text):  # each of these patterns needs a digit to match
            text = self._numbers(text)
        for symbol, word in self._symbols.items():
            text = text.replace(symbol, f" {word} ")
        return self._finish(text)

    def _numbers(self, text: str) -> str:
        """Dates, times, phone numbers, amounts, ordinals and numbers, said as words."""
        text = _ISO_DATE.sub(self._iso_date, text)
        if self._en:
            text = _MONTH_DAY.sub(lambda m: self._month_day(m.group(1), m.group(2), False), text)
            text = _DAY_MONTH.sub(lambda m: self._month_day(m.group(2), m.group(1), True), text)
        text = _TIME.sub(self._time, text)
        if self._en:
            text = _HOUR_AMPM.sub(lambda m: f" {self._cardinal(int(m.group(1)))} "
                                            f"{m.group('ap').lower()} m ", text)
        phone_patterns = [_PHONE_DASHED, _PHONE_SPACED] + ([_PHONE_DOTTED] if self._en else [])
        for pattern in phone_patterns:
            text = pattern.sub(self._phone, text)
        text = self._cur_pre.sub(self._currency, text)
        text = self._cur_post.sub(self._currency, text)
        text = self._percent.sub(
            lambda m: f" {self._say(m, amount=True)} {self._symbols.get('%', '')} ", text)
        if self._en:
            text = self._units.sub(self._unit, text)
            text = self._ordinal.sub(
                lambda m: f" {self._n2w(int(m.group('int').replace(',', '')), 'ordinal')} ", text)
            text = _DECADE.sub(self._decade, text)
        return self._number.sub(lambda m: f" {self._say(m, amount=False)} ", text)

    # -- passes ---------------------------------------------------------------

    def _prepare(self, raw: str) -> str:
        """NFKC, ASCII quotes and dashes, any digit -> ASCII, English letters -> ASCII."""
        text = unicodedata.normalize("NFKC", raw).translate(_QUOTES)
        out = []
        for ch in text:
            if ch.isspace():
                out.append(" ")
            elif ch.isascii():
                out.append(" " if ch == "_" else ch)
            elif unicodedata.category(ch) == "Nd":
                out.append(str(unicodedata.decimal(ch)))
            elif not self._en or ch in _CURRENCIES or ch == "°":
                out.append(ch)
            elif ch.isalpha():
                out.append(_fold_ascii(ch))
            else:
                out.append(" ")
        return "".join(out)

    def _abbreviations(self, text: str) -> str:
        text = _EG.sub(" for example ", text)
        text = _IE.sub(" that is ", text)
        text = _NUMBER_SIGN.sub(" number ", text)
        text = _SAINT_STREET.sub(_saint_or_street, text)
        text = _DOTTED_ABBREVIATION.sub(lambda m: f" {_ABBREVIATIONS[m.group(1).lower()]} ", text)
        return _ACRONYM.sub(lambda m: " " + " ".join(m.group(0).split(".")) + " ", text)

    def _iso_date(self, m: re.Match[str]) -> str:
        year, month, day = (int(g) for g in m.groups())
        try:
            datetime.date(year, month, day)
        except ValueError:
            return m.group(0)
        if self._en:
            return f" {_MONTHS[month - 1]} {self._n2w(day, 'ordinal')} {self._year(year)} "
        return f" {self._year(year)} {self._cardinal(month)} {self._cardinal(day)} "

    def _month_day(self, month: str, day: str, day_first: bool) -> str:
        if not 1 <= int(day) <= 31:
            return f" {day} {month} " if day_first else f" {month} {day} "
        ordinal = self._n2w(int(day), "ordinal")
        return f" {ordinal} of {month} " if day_first else f" {month} {ordinal} "

    def _time(self, m: re.Match[str]) -> str:
        hour, minute, ap = int(m.group(1)), int(m.group(2)), m.group("ap")
        spoken = self._cardinal(hour)
        if not self._en:
            return f" {spoken} {self._cardinal(minute) if minute else ''} "
        if minute == 0 and not ap:
            spoken += " o'clock" if 1 <= hour <= 12 else " hundred"
        elif minute:
            spoken += (" oh " if minute < 10 else " ") + self._cardinal(minute)
        return f" {spoken} {ap.lower() + ' m' if ap else ''} "

    def _phone(self, m: re.Match[str]) -> str:
        body, plus = m.group("body"), m.group("plus")
        digits = re.sub(r"[^0-9]", "", body)
        groups = re.findall(r"[0-9]+", body)
        spaced = " " in body and "-" not in body and "." not in body
        if len(digits) < 7 or (spaced and not (plus or "(" in body or len(groups) >= 3)):
            return m.group(0)
        return f" {self._symbols.get('+', '') if plus else ''} {self._digits(digits)} "

    def _currency(self, m: re.Match[str]) -> str:
        code, one, many, minor_one, minor_many = _CURRENCIES[m.group("sym")]
        integer = (m.group("int") or "0").replace(",", "").replace(".", "")
        frac, sign = m.group("frac"), m.group("sign")
        mag = m.groupdict().get("mag")
        minus = f"{self._neg} " if sign else ""
        if not self._en:
            try:
                said = num2words(Decimal(f"{integer}.{frac or 0}"), lang=self._n2w_lang,
                                 to="currency", currency=code, separator="\x00")
            except Exception:  # no currency words in this language: say the amount
                return f" {self._say(m, amount=True)} "
            if not frac or int(frac) == 0:
                said = said.split("\x00")[0]
            return f" {minus}{self._clean(said)} "
        if mag or (frac and len(frac) > 2) or (frac and not minor_one):
            amount = self._say(m, amount=True)
            unit = one if amount == "one" and not mag else many
            return f" {amount} {mag or ''} {unit} "
        major, cents = int(integer), int((frac or "0").ljust(2, "0"))
        parts = []
        if major or not cents:
            parts.append(f"{self._cardinal(major)} {one if major == 1 else many}")
        if cents:
            parts.append(f"{self._cardinal(cents)} {minor_one if cents == 1 else minor_many}")
        return f" {minus}{' '.join(parts)} "

    def _unit(self, m: re.Match[str]) -> str:
        one, many = _UNITS[m.group("unit")]
        single = m.group("int") == "1" and not m.group("frac")
        return f" {self._say(m, amount=True)} {one if single else many} "

    def _decade(self, m: re.Match[str]) -> str:
        value = int(m.group(1))
        return f" {_pluralize(self._year(value) if value >= 1000 else self._cardinal(value))} "

    def _finish(self, text: str) -> str:
        """Lower-case; keep letters and inner apostrophes; single spaces."""
        text = unicodedata.normalize("NFC", text.lower())
        if self._en:
            text = re.sub(r"[^a-z']", " ", text)
            text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)
            return " ".join(_WORD_MAP.get(w, w) for w in text.split())

        def is_letter(ch: str) -> bool:
            return unicodedata.category(ch)[0] in "LM"

        chars = list(text)
        for i, ch in enumerate(chars):
            if ch == "'":
                inner = 0 < i < len(chars) - 1 and is_letter(chars[i - 1]) and is_letter(
                    chars[i + 1])
                chars[i] = "'" if inner else " "
            elif not is_letter(ch):
                chars[i] = " "
        return " ".join("".join(chars).split())

    # -- number words ---------------------------------------------------------

    def _say(self, m: re.Match[str], *, amount: bool) -> str:
        """A matched number (groups sign, int, frac) in words.

        ``amount`` (currency, percent, units) always reads a cardinal; otherwise
        the digit-by-digit and year rules of the module docstring apply.
        """
        sign, written, frac = m.group("sign"), m.group("int") or "", m.group("frac")
        integer = re.sub(r"[,.]", "", written)
        plain = integer == written and not amount
        if not integer:
            spoken = ""
        elif plain and len(integer) > 1 and (integer[0] == "0" or len(integer) >= 7):
            spoken = self._digits(integer)
        elif plain and not sign and frac is None and len(integer) == 4 and (
                1100 <= int(integer) <= 2099):
            spoken = self._year(int(integer))
        else:
            spoken = self._cardinal(int(integer))
        if frac is not None:
            if self._point is not None:
                spoken += f" {self._point} {self._digits(frac)}"
            else:
                try:
                    spoken = self._clean(num2words(Decimal(f"{integer or 0}.{frac}"),
                                                   lang=self._n2w_lang))
                except Exception:  # no decimal words: read the digits after the integer
                    spoken += f" {self._digits(frac)}"
        return f"{self._neg} {spoken}" if sign else spoken

    def _digits(self, digits: str) -> str:
        return " ".join(self._cardinal(int(d)) for d in digits)

    def _cardinal(self, value: int) -> str:
        return self._n2w(value, "cardinal")

    def _year(self, value: int) -> str:
        return self._n2w(value, "year")

    def _n2w(self, value: int, to: str) -> str:
        """num2words with English "and"s and hyphens removed; digits if it fails."""
        try:
            said = num2words(value, lang=self._n2w_lang, to=to)
        except Exception:  # too large, or no such form in this language
            if to != "cardinal":
                return self._n2w(value, "cardinal")
            return self._digits(str(value))
        return self._clean(said)

    def _clean(self, said: str) -> str:
        spoken = re.sub(r"[\s,\-]+", " ", said).strip().lower()
        if self._en:
            spoken = " ".join(w for w in spoken.split() if w != "and")
        return spoken

