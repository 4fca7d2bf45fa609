"""Phone numbers: parsing to E.164 with `phonenumbers` (imported lazily), and the one `mask()` agents see."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import invalid

DEFAULT_COUNTRY_CODE = "+91"


@dataclass(frozen=True)
class ParsedPhone:
    """A valid phone number: its country calling code, national number and E.164 form."""

    country_code: str
    national: str
    e164: str

    def stored(self, *, masked: bool) -> dict[str, str | None]:
        """The phone as the lead document holds it: raw, or masked when the organization masks numbers."""
        display = mask(self.e164, self.country_code)
        if masked:
            return {
                "countryCode": self.country_code,
                "number": display.split(" ", 1)[1],
                "e164": None,
                "masked": display,
            }
        return {"countryCode": self.country_code, "number": self.national, "e164": self.e164, "masked": display}

    def raw(self) -> dict[str, str]:
        """The raw phone, as `private/contact` holds it."""
        return {"countryCode": self.country_code, "number": self.national, "e164": self.e164}


def parse(number: str, country_code: str | None, *, default_country_code: str, field: str) -> ParsedPhone:
    """Parse a phone given as {countryCode, number}; 400 naming `field` when it is not a valid number."""
    import phonenumbers

    code = (country_code or default_country_code or DEFAULT_COUNTRY_CODE).strip()
    text = number.strip()
    region = phonenumbers.region_code_for_country_code(int(digits(code) or 0))
    try:
        if text.startswith("+") or region == "ZZ":
            parsed = phonenumbers.parse(text if text.startswith("+") else f"{code}{text}", None)
        else:
            # the region's rules strip a national prefix (098...) or a repeated country code (91 98...)
            parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise invalid(f"{field}.number", "not a phone number") from error
    if not phonenumbers.is_valid_number(parsed):
        raise invalid(f"{field}.number", "not a valid phone number for its country code")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    national = str(parsed.national_number)
    return ParsedPhone(country_code=f"+{parsed.country_code}", national=national, e164=e164)


def mask(e164: str, country_code: str | None = None) -> str:
    """`+91 98XXXXXX10`: the country code, then the national number with all but 2+2 digits hidden. Without
    `country_code` it is read from the number (a record's `to` or `sender`); an unparsable number is hidden
    the same way, without a country code."""
    if country_code is None:
        import phonenumbers

        try:
            country_code = f"+{phonenumbers.parse(e164, None).country_code}"
        except phonenumbers.NumberParseException:
            return _hide(digits(e164))
    return f"{country_code} {_hide(e164.removeprefix(country_code))}"


def _hide(national: str) -> str:
    if len(national) <= 4:
        return "X" * len(national)
    return f"{national[:2]}{'X' * (len(national) - 4)}{national[-2:]}"


def digits(text: str) -> str:
    """Only the ASCII digits of text (str.isdigit also takes "²", which int() refuses)."""
    return "".join(ch for ch in text if "0" <= ch <= "9")
