"""The durable_rules runtime: isolation, threads, memory, loud failures, and its hazards."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

import engine.durable_actions as durable_actions
import rules as bundled_rules
from engine.durable_engine import DurableInference, compile_characteristic
from engine.durable_runtime import DurableRuntime, Session, _QuietHost, fnv1a32
from engine.errors import EngineError, RulePackError
from engine.evidence import normalise
from engine.patterns import ALPHA_BUDGET, ruleset_size
from engine.reference import ReferenceInference
from engine.rulepack import RulePack, load_rule_pack
from engine.spec import CharacteristicRules
from evidence_schemas.pack import EvidencePack
from tests.helpers import AS_OF, run_evaluation


def _dump(pack: EvidencePack, rules: RulePack, inference: DurableInference | ReferenceInference) -> str:
    return run_evaluation(rules, pack, inference).result.model_dump_json()


def _stripped(pack: EvidencePack) -> EvidencePack:
    """The sample pack with no verifications: a different evaluation of the same rules."""
    return pack.model_copy(update={"verifications": []})


def test_host_starts_no_background_threads() -> None:
    before = threading.active_count()
    runtime = DurableRuntime()
    assert threading.active_count() == before
    assert runtime.live_sessions() == 0


def test_sequential_evaluations_do_not_see_each_other(rule_pack: RulePack, sample_pack: EvidencePack) -> None:
    inference = DurableInference()
    full = _dump(sample_pack, rule_pack, inference)
    bare = _dump(_stripped(sample_pack), rule_pack, inference)
    assert full != bare
    assert _dump(sample_pack, rule_pack, inference) == full
    assert _dump(_stripped(sample_pack), rule_pack, inference) == bare
    assert _dump(sample_pack, rule_pack, ReferenceInference()) == full
    assert inference.runtime.live_sessions() == 0


def test_evaluations_on_two_threads_do_not_see_each_other(
    rule_pack: RulePack, sample_pack: EvidencePack
) -> None:
    inference = DurableInference()
    expected = {
        "full": _dump(sample_pack, rule_pack, inference),
        "bare": _dump(_stripped(sample_pack), rule_pack, inference),
    }
    packs = {"full": sample_pack, "bare": _stripped(sample_pack)}
    seen: dict[str, list[str]] = {"full": [], "bare": []}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for _ in range(40):
                seen[name].append(_dump(packs[name], rule_pack, inference))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in packs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(seen["full"]) == {expected["full"]}
    assert set(seen["bare"]) == {expected["bare"]}
    assert inference.runtime.live_sessions() == 0


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_returns_to_baseline_after_1000_evaluations(
    rule_pack: RulePack, sample_pack: EvidencePack
) -> None:
    # One characteristic from each dimension keeps the 1,000 runs quick; each still opens,
    # fills and deletes durable_rules sessions the way a full evaluation does.
    rules = rule_pack.only("1.1.1", "2.2.1", "3.2.3", "4.5")
    inference = DurableInference()
    for _ in range(10):
        _dump(sample_pack, rules, inference)
    after_ten = _rss_kib()
    for _ in range(1000):
        _dump(sample_pack, rules, inference)
    grown = _rss_kib() - after_ten
    # Without delete_state each evaluation would keep ~1 MB per characteristic alive.
    assert grown < max(after_ten // 10, 4096), f"RSS grew by {grown} KiB"
    assert inference.runtime.live_sessions() == 0


def test_an_exception_inside_a_rule_action_fails_the_evaluation(
    rule_pack: RulePack, sample_pack: EvidencePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    inference = DurableInference()
    _dump(sample_pack, rule_pack, inference)

    def broken(*_: object) -> None:
        raise ZeroDivisionError("division by zero in a rule action")

    monkeypatch.setattr(durable_actions, "leaf_outcome", broken)
    with pytest.raises(EngineError) as caught:
        _dump(sample_pack, rule_pack, inference)
    assert "ClosePredicate" in str(caught.value)
    assert "ZeroDivisionError: division by zero in a rule action" in str(caught.value)
    assert inference.runtime.live_sessions() == 0


def test_fnv_collisions_are_real_and_avoided() -> None:
    # The pair the field notes name: durable_rules would confuse these two ids.
    assert fnv1a32("audit-479599") == fnv1a32("audit-662382")
    runtime = DurableRuntime()
    session = Session("s1")
    ids = [session.fact_id() for _ in range(20000)]
    hashes = {fnv1a32(f"s1!{i}") for i in ids}
    assert len(hashes) == len(ids)
    keys = [session.join_key() for _ in range(20000)]
    assert len({fnv1a32(str(k)) for k in keys}) == len(keys)
    assert runtime.live_sessions() == 0


def test_types_are_normalised_before_durable_rules_coerces_them(sample_pack: EvidencePack) -> None:
    # durable_rules itself coerces '99' > 100, which is why no raw value ever reaches it ...
    host = _QuietHost()
    fired: list[str] = []

    def act(c: object) -> None:
        fired.append("fired")

    rule = {"all": [{"m": {"$and": [{"t": "x"}, {"$gt": {"v": 100}}]}}], "run": act}
    host.register_rulesets({"coerce": {"r": rule}})
    host.assert_fact("coerce", {"sid": "s", "id": "1", "t": "x", "v": "99"})
    assert fired == ["fired"], "durable_rules no longer coerces strings; the note can go"
    # ... the engine hands it integers only: numbers in millionths, dates as day numbers.
    values = normalise(sample_pack, AS_OF).for_characteristic("1.5.2")[0].values
    assert all(isinstance(v, str | bool | int | tuple) for v in values.values())
    assert not any(isinstance(v, float) for v in values.values())


def test_a_string_literal_for_a_number_is_rejected_by_the_rule_checks(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    (folder / "characteristics").mkdir(parents=True)
    (folder / "model.yaml").write_bytes((bundled_rules.bundled() / "model.yaml").read_bytes())
    text = (bundled_rules.bundled() / "characteristics" / "1.5.2.yaml").read_text(encoding="utf-8")
    (folder / "characteristics" / "1.5.2.yaml").write_text(
        text.replace("{gte: 2}", '{gte: "2"}'), encoding="utf-8"
    )
    with pytest.raises(RulePackError, match="'2' is not a number"):
        load_rule_pack(folder)


def _overloaded(count: int, where: str = "kind: governance, where: {{members.private: {{gte: {i}}}}}") -> str:
    """A 1.5.2 file whose level 2 has ``count`` requirements with the given evidence."""
    requirements = "".join(
        f"      - {{id: r{i}, summary: {{en: a, zh: 甲}}, evidence: {{{where.format(i=i)}}}}}\n"
        for i in range(count)
    )
    levels = "".join(
        f'  {n}:\n    cell: "Table A.1, 1.5.2, level {n}"\n'
        "    summary: {en: x, zh: 乙}\n    requirements:\n"
        + (
            requirements
            if n == 2
            # min_count 2: a predicate any single document meets would need kind_only_because
            else f"      - {{id: d{n}, summary: {{en: a, zh: 甲}}, "
            "evidence: {kind: document, min_count: 2}}\n"
        )
        for n in (2, 3, 4, 5)
    )
    return 'characteristic: "1.5.2"\nlevels:\n' + levels


def test_a_characteristic_too_big_for_one_ruleset_is_rejected_at_load(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    (folder / "characteristics").mkdir(parents=True)
    (folder / "model.yaml").write_bytes((bundled_rules.bundled() / "model.yaml").read_bytes())
    (folder / "characteristics" / "1.5.2.yaml").write_text(_overloaded(70), encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        load_rule_pack(folder)
    (problem,) = caught.value.problems
    assert problem.path == "levels"
    assert f"the engine allows {ALPHA_BUDGET} per kind and characteristic" in problem.message
    assert "governance evidence need 72 distinct tests" in problem.message


@pytest.mark.parametrize(("count", "crashes"), [(54, False), (70, True)])
def test_the_budget_sits_below_where_durable_rules_overflows(
    tmp_path: Path, count: int, crashes: bool
) -> None:
    """Run the compiled rules unchecked in a child process: 70 passing tests overflow
    durable_rules' alpha stack (error 303), 54 do not; the budget rejects the former."""
    spec = yaml.safe_load(_overloaded(count))
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, sys\n"
        "import engine.durable_engine as d\n"
        "from engine.spec import CharacteristicRules\n"
        "d.ALPHA_BUDGET = 10**6  # the check under test is switched off here\n"
        "spec = CharacteristicRules.model_validate_json(sys.argv[1])\n"
        "shard = d.compile_characteristic(spec)\n"
        "runtime = d.DurableRuntime()\n"
        "runtime.register(shard.name, shard.rules)\n"
        "with runtime.session(shard.name, d.ShardSession) as session:\n"
        "    k = session.join_key()\n"
        "    session.items[k] = 'g'\n"
        "    item = {'id': session.fact_id(), 't': 'item', 'k': k, 'kind': 'governance',\n"
        "            'p_members__private': True, 'a_members__private': 100_000_000}\n"
        "    verdict = {'id': session.fact_id(), 't': 'verdict', 'k': k, 'v': 'accepted'}\n"
        "    runtime.assert_facts(shard.name, session, [item, verdict])\n"
        "print('ok')\n",
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(probe), json.dumps(spec)], capture_output=True, text=True, cwd=root, check=False
    )
    if crashes:
        assert done.returncode != 0
        assert "error code: 303" in done.stderr or done.returncode < 0
    else:
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "ok"


def test_a_characteristic_over_the_rule_limit_is_rejected_at_load(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    (folder / "characteristics").mkdir(parents=True)
    (folder / "model.yaml").write_bytes((bundled_rules.bundled() / "model.yaml").read_bytes())
    text = _overloaded(
        170, "kind: document, where: {{doc_type: {{equals: plan}}, approval: {{exists: true}}}}"
    )
    (folder / "characteristics" / "1.5.2.yaml").write_text(text, encoding="utf-8")
    spec = CharacteristicRules.model_validate(yaml.safe_load(text))
    assert ruleset_size(spec) == len(compile_characteristic(spec).rules) == 3 * 170 + 3 * 3 + 4 + 9
    with pytest.raises(RulePackError) as caught:
        load_rule_pack(folder)
    (problem,) = caught.value.problems
    assert problem.message == "compiles to 532 durable_rules rules; the engine allows 500 per characteristic"
