"""Brazilian geography of phone numbers (SPEC 5, 6.1, 6.2).

A contact's phone is stored in E.164 form, parsed and validated with ``phonenumbers``; its state
(UF) is derived from the two-digit area code (DDD) of the national numbering plan (Anatel), which
has 67 codes. Reports put contacts without a Brazilian DDD in the ``UNKNOWN_STATE`` bucket.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
from phonenumbers import NumberParseException

# The 27 federative units (26 states and the Federal District), alphabetical by UF code.
STATES: dict[str, str] = {
    "AC": "Acre",
    "AL": "Alagoas",
    "AM": "Amazonas",
    "AP": "Amapá",
    "BA": "Bahia",
    "CE": "Ceará",
    "DF": "Distrito Federal",
    "ES": "Espírito Santo",
    "GO": "Goiás",
    "MA": "Maranhão",
    "MG": "Minas Gerais",
    "MS": "Mato Grosso do Sul",
    "MT": "Mato Grosso",
    "PA": "Pará",
    "PB": "Paraíba",
    "PE": "Pernambuco",
    "PI": "Piauí",
    "PR": "Paraná",
    "RJ": "Rio de Janeiro",
    "RN": "Rio Grande do Norte",
    "RO": "Rondônia",
    "RR": "Roraima",
    "RS": "Rio Grande do Sul",
    "SC": "Santa Catarina",
    "SE": "Sergipe",
    "SP": "São Paulo",
    "TO": "Tocantins",
}

# Anatel's national numbering plan: the DDDs of each UF.
_DDDS_BY_STATE: dict[str, tuple[int, ...]] = {
    "SP": (11, 12, 13, 14, 15, 16, 17, 18, 19),
    "RJ": (21, 22, 24),
    "ES": (27, 28),
    "MG": (31, 32, 33, 34, 35, 37, 38),
    "PR": (41, 42, 43, 44, 45, 46),
    "SC": (47, 48, 49),
    "RS": (51, 53, 54, 55),
    "DF": (61,),
    "GO": (62, 64),
    "TO": (63,),
    "MT": (65, 66),
    "MS": (67,),
    "AC": (68,),
    "RO": (69,),
    "BA": (71, 73, 74, 75, 77),
    "SE": (79,),
    "PE": (81, 87),
    "AL": (82,),
    "PB": (83,),
    "RN": (84,),
    "CE": (85, 88),
    "PI": (86, 89),
    "PA": (91, 93, 94),
    "AM": (92, 97),
    "RR": (95,),
    "AP": (96,),
    "MA": (98, 99),
}

# DDD -> UF, ordered by DDD.
DDD_TO_STATE: dict[int, str] = dict(
    sorted((ddd, uf) for uf, ddds in _DDDS_BY_STATE.items() for ddd in ddds)
)

UNKNOWN_STATE = "UNKNOWN"

assert len(STATES) == 27, len(STATES)
assert len(DDD_TO_STATE) == 67, len(DDD_TO_STATE)
assert sum(len(ddds) for ddds in _DDDS_BY_STATE.values()) == 67  # no DDD listed twice
assert set(_DDDS_BY_STATE) == set(STATES)  # every UF has at least one DDD, and no unknown UF

_BRAZIL_COUNTRY_CODE = 55

# A geographic Brazilian number is DDD + 8 digits (landline) or DDD + 9 digits (mobile). Shorter
# possible numbers carry no DDD (e.g. "+55 3212-3456", or "+55 90 98765-4321", where phonenumbers
# strips "90" as a national prefix and leaves 987654321): their first two digits are not a DDD.
_GEOGRAPHIC_NSN_LENGTHS = frozenset((10, 11))

# DDD as the first two characters of the national significant number -> UF; avoids an int()
# conversion per phone in the hot path.
_STATE_BY_DDD_TEXT: dict[str, str] = {str(ddd): uf for ddd, uf in DDD_TO_STATE.items()}

_parse = phonenumbers.parse
_is_possible = phonenumbers.is_possible_number
_national_significant_number = phonenumbers.national_significant_number
_format_number = phonenumbers.format_number
_E164 = phonenumbers.PhoneNumberFormat.E164


def _parse_possible(phone: str | None) -> phonenumbers.PhoneNumber | None:
    """The parsed number when ``phone`` parses (no default region) and is a possible number."""
    if not phone:
        return None
    try:
        number = _parse(phone, None)
    except NumberParseException:
        return None
    if not _is_possible(number):
        return None
    return number


def normalise_phone(phone: str | None) -> str | None:
    """E.164 form ('+5511987654321') of a phone parsed with phonenumbers (numbers without a
    leading + are parsed with no default region, so they fail), or None if it does not parse or
    is not a possible number."""
    number = _parse_possible(phone)
    if number is None:
        return None
    return _format_number(number, _E164)


def _state_of(number: phonenumbers.PhoneNumber) -> str | None:
    if number.country_code != _BRAZIL_COUNTRY_CODE:
        return None
    nsn = _national_significant_number(number)
    if len(nsn) not in _GEOGRAPHIC_NSN_LENGTHS:
        return None
    return _STATE_BY_DDD_TEXT.get(nsn[:2])


def state_for_phone(phone: str | None) -> str | None:
    """UF of a Brazilian number (country code 55) from its two-digit DDD via phonenumbers'
    national significant number; None when the phone is missing, does not parse (or is not a
    possible number, as in ``normalise_phone``), is not Brazilian, has no DDD (its national
    significant number is not 10 or 11 digits long), or its DDD is not one of the 67."""
    number = _parse_possible(phone)
    if number is None:
        return None
    return _state_of(number)


def phones_and_states(phones: Iterable[str | None]) -> list[tuple[str | None, str | None]]:
    """``(normalise_phone(p), state_for_phone(p))`` for each phone, parsing each once (ingestion
    derives both for every contact it stores)."""
    parse_possible = _parse_possible
    format_number = _format_number
    e164 = _E164
    state_of = _state_of
    result: list[tuple[str | None, str | None]] = []
    append = result.append
    for phone in phones:
        number = parse_possible(phone)
        if number is None:
            append((None, None))
        else:
            append((format_number(number, e164), state_of(number)))
    return result


def states_for_phones(phones: Iterable[str | None]) -> list[str | None]:
    """Bulk version of ``state_for_phone`` (used at ingestion for many contacts); same results,
    element-wise, in the same order."""
    parse = _parse
    is_possible = _is_possible
    nsn = _national_significant_number
    by_ddd = _STATE_BY_DDD_TEXT
    brazil = _BRAZIL_COUNTRY_CODE
    geographic_lengths = _GEOGRAPHIC_NSN_LENGTHS
    result: list[str | None] = []
    append = result.append
    for phone in phones:
        if not phone:
            append(None)
            continue
        try:
            number = parse(phone, None)
        except NumberParseException:
            append(None)
            continue
        if number.country_code != brazil or not is_possible(number):
            append(None)
            continue
        national = nsn(number)
        if len(national) not in geographic_lengths:
            append(None)
            continue
        append(by_ddd.get(national[:2]))
    return result
