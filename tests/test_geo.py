"""Phone normalisation and state (UF) from the Brazilian DDD (SPEC 5, 6.1, 6.2)."""

from __future__ import annotations

import phonenumbers
import pytest
from tablero.geo import (
    DDD_TO_STATE,
    STATES,
    UNKNOWN_STATE,
    normalise_phone,
    phones_and_states,
    state_for_phone,
    states_for_phones,
)

# One real-looking, valid number per federative unit (mobiles: DDD + 9XXXX-XXXX; a few landlines:
# DDD + XXXX-XXXX), written the way people type them.
PHONE_PER_STATE: dict[str, str] = {
    "AC": "+55 68 99912-3456",
    "AL": "+55 82 99823-4567",
    "AM": "+55 92 98134-5678",
    "AP": "+55 96 99145-6789",
    "BA": "+55 71 3321-4567",  # landline, Salvador
    "CE": "+55 85 98876-5432",
    "DF": "+55 61 3212-3456",  # landline, Brasília
    "ES": "+55 27 99765-4321",
    "GO": "+55 62 98123-4567",
    "MA": "+55 98 98111-2222",
    "MG": "+55 31 99876-5432",
    "MS": "+55 67 99234-5678",
    "MT": "+55 65 99345-6789",
    "PA": "+55 91 98456-7890",
    "PB": "+55 83 99567-8901",
    "PE": "+55 81 99678-9012",
    "PI": "+55 86 99789-0123",
    "PR": "+55 41 99890-1234",
    "RJ": "+55 21 98765-4321",
    "RN": "+55 84 99901-2345",
    "RO": "+55 69 99212-3434",
    "RR": "+55 95 99123-4545",
    "RS": "+55 51 3211-5656",  # landline, Porto Alegre
    "SC": "+55 48 99654-3210",
    "SE": "+55 79 99876-1234",
    "SP": "+55 11 98765-4321",
    "TO": "+55 63 99234-1234",
}

# Two-digit codes that are not DDDs of the national numbering plan.
# fmt: off
NON_EXISTENT_DDDS = [
    20, 23, 25, 26, 29, 30, 36, 39, 40, 50, 52, 56, 57, 58, 59, 60, 70, 72, 76, 78, 80, 90,
]
# fmt: on

FOREIGN = ["+1 212 555 0123", "+351 912 345 678", "+54 9 11 2345-6789"]
MALFORMED = ["", None, "abc", "+55", "+5511", "11987654321", "5511987654321", "+55 11 98765"]


def test_27_states_alphabetical_with_accents():
    assert len(STATES) == 27
    assert list(STATES) == sorted(STATES)
    assert STATES["SP"] == "São Paulo"
    assert STATES["DF"] == "Distrito Federal"
    assert STATES["AP"] == "Amapá"
    assert STATES["RO"] == "Rondônia"
    assert UNKNOWN_STATE == "UNKNOWN"
    assert UNKNOWN_STATE not in STATES


def test_67_ddds_of_the_national_plan():
    assert len(DDD_TO_STATE) == 67
    assert set(DDD_TO_STATE.values()) == set(STATES)
    assert [d for d in DDD_TO_STATE if DDD_TO_STATE[d] == "SP"] == list(range(11, 20))
    assert sorted(d for d, uf in DDD_TO_STATE.items() if uf == "RJ") == [21, 22, 24]
    assert sorted(d for d, uf in DDD_TO_STATE.items() if uf == "MG") == [31, 32, 33, 34, 35, 37, 38]
    assert sorted(d for d, uf in DDD_TO_STATE.items() if uf == "RS") == [51, 53, 54, 55]
    assert sorted(d for d, uf in DDD_TO_STATE.items() if uf == "BA") == [71, 73, 74, 75, 77]
    assert sorted(d for d, uf in DDD_TO_STATE.items() if uf == "MA") == [98, 99]
    assert not set(NON_EXISTENT_DDDS) & set(DDD_TO_STATE)
    # The list above is exactly the gaps of the plan between 20 and 99.
    assert set(range(20, 100)) - set(DDD_TO_STATE) == set(NON_EXISTENT_DDDS)


@pytest.mark.parametrize("uf", list(PHONE_PER_STATE))
def test_state_of_a_valid_number_of_each_state(uf):
    phone = PHONE_PER_STATE[uf]
    assert phonenumbers.is_valid_number(phonenumbers.parse(phone, None))
    assert state_for_phone(phone) == uf


def test_every_state_has_a_sample_number():
    assert set(PHONE_PER_STATE) == set(STATES)


@pytest.mark.parametrize("ddd", sorted(DDD_TO_STATE))
def test_every_ddd_maps_a_valid_mobile(ddd):
    phone = f"+55{ddd}987654321"
    assert phonenumbers.is_valid_number(phonenumbers.parse(phone, None))
    assert state_for_phone(phone) == DDD_TO_STATE[ddd]


def test_normalise_phone_to_e164():
    assert normalise_phone("+55 11 98765-4321") == "+5511987654321"
    assert normalise_phone("+55 (61) 3212-3456") == "+556132123456"
    assert normalise_phone("+5511987654321") == "+5511987654321"
    assert normalise_phone("+1 212 555 0123") == "+12125550123"
    assert normalise_phone("+351 912 345 678") == "+351912345678"


@pytest.mark.parametrize("phone", MALFORMED)
def test_malformed_phones(phone):
    assert normalise_phone(phone) is None
    assert state_for_phone(phone) is None


@pytest.mark.parametrize("phone", FOREIGN)
def test_foreign_numbers_have_no_state(phone):
    assert normalise_phone(phone) is not None
    assert state_for_phone(phone) is None


@pytest.mark.parametrize("ddd", NON_EXISTENT_DDDS)
def test_brazilian_number_with_non_existent_ddd_has_no_state(ddd):
    assert state_for_phone(f"+55 {ddd} 98765-4321") is None
    assert state_for_phone(f"+55 {ddd} 3212-3456") is None


def test_brazilian_number_without_ddd_has_no_state():
    # Possible numbers, but not DDD + 8/9 digits: their leading digits are not a DDD.
    assert normalise_phone("+55 3212-3456") == "+5532123456"
    assert state_for_phone("+55 3212-3456") is None  # not MG (32)
    assert state_for_phone("+55 98765-4321") is None  # not MA (98)
    assert state_for_phone("+55 4004-1234") is None  # nationwide number
    assert state_for_phone("+55 0800 123 4567") is None  # toll-free


def test_national_prefix_and_carrier_code_are_stripped():
    assert state_for_phone("+55 011 98765-4321") == "SP"
    assert state_for_phone("+55 0 21 11 98765-4321") == "SP"  # carrier 21, DDD 11


def test_ddd_55_is_rio_grande_do_sul_not_the_country_code():
    assert state_for_phone("+55 55 99912-3456") == "RS"


def test_states_for_phones_equals_state_for_phone_element_wise():
    phones = (
        list(PHONE_PER_STATE.values())
        + FOREIGN
        + MALFORMED
        + [f"+55 {ddd} 98765-4321" for ddd in NON_EXISTENT_DDDS]
        + [f"+55{ddd}32123456" for ddd in DDD_TO_STATE]
        + ["+55 3212-3456", "+55 98765-4321", "+55 4004-1234", "+55 0800 123 4567"]
        + ["+55 11 98765-4321", "+55 11 98765-4321"]  # repeats
    )
    expected = [state_for_phone(p) for p in phones]
    assert states_for_phones(phones) == expected
    assert states_for_phones(iter(phones)) == expected  # any iterable, e.g. a generator
    assert states_for_phones([]) == []
    assert expected[: len(PHONE_PER_STATE)] == list(PHONE_PER_STATE)
    # ingestion's one-parse version of both
    assert phones_and_states(phones) == [(normalise_phone(p), state_for_phone(p)) for p in phones]


def test_states_for_phones_readable_example():
    phones = [
        "+55 11 98765-4321",
        None,
        "+1 212 555 0123",
        "+55 (21) 3212-3456",
        "+55 20 98765-4321",
    ]
    assert states_for_phones(phones) == ["SP", None, None, "RJ", None]
    assert phones_and_states(phones) == [
        ("+5511987654321", "SP"), (None, None), ("+12125550123", None),
        ("+552132123456", "RJ"), ("+5520987654321", None),
    ]
