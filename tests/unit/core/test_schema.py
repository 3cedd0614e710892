"""cfnkit.schema: declarative properties, coercion, every problem with its path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from cfnkit.errors import InvalidProperties, Problem
from cfnkit.logs import redactor
from cfnkit.schema import (
    Boolean,
    Field,
    Integer,
    Json,
    List,
    Map,
    Number,
    Object,
    Schema,
    String,
    describe,
    not_both,
)

CANARY = "Zq9-canary-value-7731"

SCHEMA = Schema(
    checks=(not_both("Image", "TaskDefinition"),),
    Cluster=Field(String(min_length=1), required=True),
    Count=Field(Integer(minimum=1, maximum=10), default=1),
    Wait=Field(Boolean(), default=True),
    Ratio=Field(Number(minimum=0.0, maximum=1.0)),
    LaunchType=Field(String(choices=("FARGATE", "EC2"))),
    Image=Field(String(pattern=r"[a-z]+(:[a-z0-9.]+)?")),
    TaskDefinition=Field(String()),
    Password=Field(String(), secret=True),
    Subnets=Field(List(String(), min_items=1, max_items=3)),
    Tags=Field(Map(Integer())),
    Network=Field(Object(fields={"Vpc": Field(String(), required=True), "Public": Field(Boolean())})),
    Extra=Field(Json()),
)


def problems(properties: dict[str, Any], schema: Schema = SCHEMA) -> list[str]:
    with pytest.raises(InvalidProperties) as caught:
        schema.parse(properties)
    return [str(p) for p in caught.value.problems]


def test_strings_are_coerced_by_declared_type_and_defaults_filled() -> None:
    parsed = SCHEMA.parse(
        {
            "Cluster": "main",
            "Count": "3",
            "Wait": "false",
            "Ratio": "0.5",
            "LaunchType": "EC2",
            "Subnets": ["a", "b"],
            "Tags": {"x": "7"},
            "Network": {"Vpc": "v", "Public": "TRUE"},
            "Extra": {"any": ["thing", 1]},
        }
    )
    assert parsed == {
        "Cluster": "main",
        "Count": 3,
        "Wait": False,
        "Ratio": 0.5,
        "LaunchType": "EC2",
        "Subnets": ["a", "b"],
        "Tags": {"x": 7},
        "Network": {"Vpc": "v", "Public": True},
        "Extra": {"any": ["thing", 1]},
    }


def test_defaults_fill_absent_and_null_properties() -> None:
    assert SCHEMA.parse({"Cluster": "c", "Count": None}) == {"Cluster": "c", "Count": 1, "Wait": True}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("yes", True), ("1", True), (" False ", False), ("no", False), ("0", False), (True, True)],
)
def test_boolean_spellings(raw: Any, expected: bool) -> None:
    assert Boolean().parse(raw, "", []) is expected


@pytest.mark.parametrize(("raw", "expected"), [("3", 3), (" -2 ", -2), (4.0, 4), (5, 5)])
def test_integer_spellings(raw: Any, expected: int) -> None:
    assert Integer().parse(raw, "", []) == expected


def test_number_accepts_numbers_and_numeric_strings() -> None:
    assert Number().parse("1e3", "", []) == 1000.0
    assert Number().parse(2, "", []) == 2.0


def test_string_accepts_scalars_as_text() -> None:
    assert String().parse(5, "", []) == "5"


def test_every_problem_is_listed_once_with_path_and_expected_type() -> None:
    found = problems(
        {
            "Count": "lots",
            "Wait": "maybe",
            "Ratio": "2",
            "LaunchType": "fargate",
            "Image": "Bad Image!",
            "TaskDefinition": "td",
            "Subnets": [],
            "Tags": {"a": "x"},
            "Network": {"Public": "y", "Vpcs": "v"},
            "Clustr": "c",
        }
    )
    assert found == [
        "Clustr: unknown property (did you mean Cluster?)",
        "Cluster: required; expected a non-empty string",
        "Count: expected an integer from 1 to 10, got a string",
        "Wait: expected a boolean (true or false), got a string",
        "Ratio: expected a number from 0.0 to 1.0, got one out of range",
        "LaunchType: expected one of FARGATE, EC2 (did you mean FARGATE?)",
        "Image: expected a string matching [a-z]+(:[a-z0-9.]+)?",
        "Subnets: expected at least 1 item(s), got 0",
        "Tags.a: expected an integer, got a string",
        "Network.Vpcs: unknown property (did you mean Vpc?)",
        "Network.Vpc: required; expected a string",
        "Network.Public: expected a boolean (true or false), got a string",
        "give Image or TaskDefinition, not both",
    ]


def test_list_items_have_indexed_paths_and_limits() -> None:
    assert problems({"Cluster": "c", "Subnets": ["a", ["b"], "c", "d"]}) == [
        "Subnets: expected at most 3 item(s), got 4",
    ]
    assert problems({"Cluster": "c", "Subnets": ["a", ["b"]]}) == ["Subnets[1]: expected a string, got a list"]
    assert problems({"Cluster": "c", "Subnets": "a"}) == ["Subnets: expected a list of a string, got a string"]


def test_wrong_container_types_name_the_expected_shape() -> None:
    assert problems({"Cluster": "c", "Tags": ["x"], "Network": "vpc"}) == [
        "Tags: expected an object of an integer, got a list",
        "Network: expected an object, got a string",
    ]


def test_integer_bounds_and_messages() -> None:
    assert Integer(minimum=2).expected == "an integer of at least 2"
    assert Integer(maximum=2).expected == "an integer of at most 2"
    assert problems({"Cluster": "c", "Count": "11"}) == [
        "Count: expected an integer from 1 to 10, got a number out of range",
    ]


def test_string_length_limits() -> None:
    schema = Schema(Name=Field(String(max_length=3)), Id=Field(String(min_length=2)))
    assert problems({"Name": "abcd", "Id": "a"}, schema) == [
        "Name: expected a string of at most 3 characters, got 4",
        "Id: expected a non-empty string",
    ]


def test_bad_scalars_are_described_by_type() -> None:
    schema = Schema(A=Field(String()), B=Field(Number()), C=Field(Integer()), D=Field(Number()))
    assert problems({"A": True, "B": "nan", "C": 1.5, "D": "x"}, schema) == [
        "A: expected a string, got a boolean",
        "B: expected a number, got a string",
        "C: expected an integer, got a number",
        "D: expected a number, got a string",
    ]


def test_describe_names_json_types() -> None:
    assert [describe(v) for v in (None, True, 1, "s", {}, [], object())] == [
        "null",
        "a boolean",
        "a number",
        "a string",
        "an object",
        "a list",
        "object",
    ]


def test_problem_reason_never_contains_the_value() -> None:
    schema = Schema(Count=Field(Integer()), Mode=Field(String(choices=("on", "off"))), Nums=Field(List(Integer())))
    with pytest.raises(InvalidProperties) as caught:
        schema.parse({"Count": CANARY, "Mode": CANARY, "Nums": [CANARY]})
    reason = caught.value.reason()
    assert CANARY not in reason
    assert reason.startswith("Invalid properties: ")
    assert "Nums[0]: expected an integer, got a string" in reason


def test_base_type_rejects_everything() -> None:
    from cfnkit.schema import Type

    kind = Type()
    assert kind.expected == "a value"
    assert problems({"X": "1"}, Schema(X=Field(kind))) == ["X: expected a value, got a string"]


def test_secret_fields_are_registered_with_the_redactor() -> None:
    schema = Schema(
        Password=Field(String(), secret=True), Nested=Field(Object(fields={"Token": Field(String(), secret=True)}))
    )
    schema.parse({"Password": CANARY, "Nested": {"Token": "nested-" + CANARY}})
    assert redactor.redact(f"a {CANARY} b nested-{CANARY}") == "a **** b ****"


def test_secret_fields_are_registered_even_when_invalid() -> None:
    schema = Schema(Pin=Field(Integer(), secret=True))
    with pytest.raises(InvalidProperties):
        schema.parse({"Pin": CANARY})
    assert redactor.redact(CANARY) == "****"


def test_parse_lenient_keeps_valid_fields_and_falls_back_to_defaults() -> None:
    assert SCHEMA.parse_lenient({"Cluster": "c", "Count": "many", "Wait": "no", "Unknown": 1, "Ratio": None}) == {
        "Cluster": "c",
        "Count": 1,
        "Wait": False,
    }


def test_parse_lenient_registers_secret_values() -> None:
    SCHEMA.parse_lenient({"Password": CANARY})
    assert redactor.redact(CANARY) == "****"


def test_not_both_allows_one_of_the_two() -> None:
    check = not_both("A", "B")
    assert list(check({"A": 1})) == []
    assert list(check({"A": 1, "B": None})) == []
    assert list(check({"A": 1, "B": 2})) == [Problem("", "give A or B, not both")]


def test_schema_exposes_its_fields() -> None:
    assert list(Schema(A=Field(String())).fields) == ["A"]


def test_nested_check_problems_carry_their_path() -> None:
    net = Object(fields={"A": Field(String()), "B": Field(String())}, checks=(not_both("A", "B"),))
    schema = Schema(Net=Field(net))
    assert problems({"Net": {"A": "1", "B": "2"}}, schema) == ["Net: give A or B, not both"]


def test_a_nested_check_that_names_a_field_gets_the_whole_path() -> None:
    def differ(value: Mapping[str, Any]) -> list[Problem]:
        return [Problem("B", "must differ from A")] if value.get("A") == value.get("B") else []

    net = Object(fields={"A": Field(String()), "B": Field(String())}, checks=(differ,))
    schema = Schema(Net=Field(net))
    assert problems({"Net": {"A": "1", "B": "1"}}, schema) == ["Net.B: must differ from A"]


def test_problem_without_path_is_just_its_message() -> None:
    assert str(Problem("", "whole thing wrong")) == "whole thing wrong"


def test_number_rejects_containers_and_json_accepts_anything() -> None:
    schema = Schema(N=Field(Number()), J=Field(Json()))
    assert problems({"N": [1], "J": [1]}, schema) == ["N: expected a number, got a list"]
    assert Json().expected == "a JSON value"
    assert schema.parse({"J": {"any": [None]}}) == {"J": {"any": [None]}}


def test_numbers_that_python_cannot_hold_are_problems_not_crashes() -> None:
    schema = Schema(I=Field(Integer()), N=Field(Number()), M=Field(Number()), K=Field(Number()))
    assert problems({"I": "9" * 5000, "N": "inf", "M": 10**400, "K": "nan"}, schema) == [
        "I: expected an integer, got a string",
        "N: expected a number, got a string",
        "M: expected a number, got a number out of range",
        "K: expected a number, got a string",
    ]
    assert schema.parse_lenient({"I": "9" * 5000}) == {}


def test_number_bounds_name_only_the_bounds_given() -> None:
    schema = Schema(Low=Field(Number(minimum=1.5)), High=Field(Number(maximum=2.0)))
    assert problems({"Low": "1", "High": 3}, schema) == [
        "Low: expected a number of at least 1.5, got one out of range",
        "High: expected a number of at most 2.0, got one out of range",
    ]


def test_a_delete_with_an_enormous_number_still_reaches_the_provider() -> None:
    from cfnkit import CustomResource, Provider, Request, Result
    from cfnkit.testing import FakeClock, FakeContext, RecordingSender, delete_event

    class Deleter(Provider):
        schema = Schema(Count=Field(Integer(), default=1))

        def create(self, request: Request) -> Result:
            return Result()

        def delete(self, request: Request) -> Result:
            assert request.properties == {"Count": 1}
            return Result()

    sender = RecordingSender()
    CustomResource(Deleter(), sender=sender, clock=FakeClock())(
        delete_event({"Count": "9" * 5000}, "id-1"), FakeContext()
    )
    assert (sender.only["Status"], sender.only["PhysicalResourceId"]) == ("SUCCESS", "id-1")


def test_a_required_pass_through_field_names_its_description_as_the_expectation() -> None:
    schema = Schema(
        Cluster=Field(Json(), required=True, description="an ECS cluster name or ARN"),
        Name=Field(String(), required=True, description="ignored for typed fields"),
    )
    with pytest.raises(InvalidProperties) as caught:
        schema.parse({})
    assert [str(p) for p in caught.value.problems] == [
        "Cluster: required; expected an ECS cluster name or ARN",
        "Name: required; expected a string",
    ]


# -- every bound is inclusive: the bound itself is accepted, one step past it is not ---------

BOUNDED = Schema(
    Count=Field(Integer(minimum=1, maximum=10)),
    AtLeast=Field(Integer(minimum=-2)),
    AtMost=Field(Integer(maximum=0)),
    Ratio=Field(Number(minimum=0.5, maximum=1.5)),
    Name=Field(String(min_length=2, max_length=4)),
    Subnets=Field(List(String(), min_items=1, max_items=2)),
)


@pytest.mark.parametrize(
    ("name", "value", "parsed"),
    [
        ("Count", "1", 1),
        ("Count", "10", 10),
        ("Count", 1, 1),
        ("Count", 10.0, 10),
        ("AtLeast", "-2", -2),
        ("AtMost", "0", 0),
        ("Ratio", "0.5", 0.5),
        ("Ratio", "1.5", 1.5),
        ("Ratio", 1.5, 1.5),
        ("Name", "ab", "ab"),
        ("Name", "abcd", "abcd"),
        ("Name", "éé", "éé"),
        ("Subnets", ["a"], ["a"]),
        ("Subnets", ["a", "b"], ["a", "b"]),
    ],
)
def test_a_value_at_a_bound_is_accepted(name: str, value: Any, parsed: Any) -> None:
    assert BOUNDED.parse({name: value}) == {name: parsed}


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("Count", "0", "Count: expected an integer from 1 to 10, got a number out of range"),
        ("Count", "11", "Count: expected an integer from 1 to 10, got a number out of range"),
        ("Count", 11, "Count: expected an integer from 1 to 10, got a number out of range"),
        ("AtLeast", "-3", "AtLeast: expected an integer of at least -2, got a number out of range"),
        ("AtMost", "1", "AtMost: expected an integer of at most 0, got a number out of range"),
        ("Ratio", "0.49", "Ratio: expected a number from 0.5 to 1.5, got one out of range"),
        ("Ratio", "1.51", "Ratio: expected a number from 0.5 to 1.5, got one out of range"),
        ("Name", "a", "Name: expected a non-empty string"),
        ("Name", "abcde", "Name: expected a string of at most 4 characters, got 5"),
        ("Subnets", [], "Subnets: expected at least 1 item(s), got 0"),
        ("Subnets", ["a", "b", "c"], "Subnets: expected at most 2 item(s), got 3"),
    ],
)
def test_a_value_one_past_a_bound_is_rejected_naming_the_bounds(name: str, value: Any, problem: str) -> None:
    assert problems({name: value}, BOUNDED) == [problem]


def test_a_minimum_or_maximum_of_zero_is_still_a_bound() -> None:
    schema = Schema(Low=Field(Integer(minimum=0)), High=Field(Number(maximum=0.0)), Zero=Field(Number(minimum=0)))
    assert schema.parse({"Low": "0", "High": "0", "Zero": "0"}) == {"Low": 0, "High": 0.0, "Zero": 0.0}
    assert problems({"Low": "-1", "High": "0.1", "Zero": "-0.1"}, schema) == [
        "Low: expected an integer of at least 0, got a number out of range",
        "High: expected a number of at most 0.0, got one out of range",
        "Zero: expected a number of at least 0, got one out of range",
    ]


def test_a_schema_runs_the_checks_it_is_given() -> None:
    schema = Schema(checks=(not_both("A", "B"),), A=Field(String()), B=Field(String()))
    assert schema.parse({"A": "x"}) == {"A": "x"}
    assert problems({"A": "x", "B": "y"}, schema) == ["give A or B, not both"]
