"""Templates load strictly: the defaults all pass their checks, an operator's override is used and
reported as such, and an override that names an unknown fact, lacks an email block, does not
parse, or a TEMPLATES_DIR that does not exist stops the start with a message naming the problem;
rendering without a fact raises instead of leaving a blank."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError
from notification.domain.messages import FIELDS
from notification.domain.samples import SAMPLES
from notification.templates import TemplateProblems, Templates


def override(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return root


def test_the_defaults_load_and_render_every_sample() -> None:
    templates = Templates()
    keys = templates.all_keys()
    assert len(keys) == 32 and len(set(keys)) == 32
    for kind, channel, language in keys:
        assert templates.source_of(kind, channel, language) == "default"
        rendered = templates.render(kind, channel, language, SAMPLES[kind])
        assert rendered.body.strip()
        assert (rendered.subject is not None) == (channel == "email")


def test_the_default_receipt_sms_carries_the_facts() -> None:
    rendered = Templates().render("receipt", "sms", "vi", SAMPLES["receipt"])
    for fact in ("code", "due_date", "due_time", "pin", "lookup_url"):
        assert str(SAMPLES["receipt"][fact]) in rendered.body
    assert "tiếp nhận" in rendered.body


def test_an_override_is_rendered_and_reported(tmp_path: Path) -> None:
    root = override(
        tmp_path, "receipt/sms.vi.j2", "HS {{ code }}: hẹn {{ due_date }}, PIN {{ pin }}\n"
    )
    templates = Templates(root)
    facts = {**SAMPLES["receipt"], "code": "X-1", "due_date": "01/01/2026", "pin": "111222"}
    assert (
        templates.render("receipt", "sms", "vi", facts).body == "HS X-1: hẹn 01/01/2026, PIN 111222"
    )
    assert templates.source_of("receipt", "sms", "vi") == "override"
    assert templates.source_of("receipt", "sms", "en") == "default"
    assert templates.source_of("receipt", "email", "vi") == "default"
    default = templates.render("receipt", "sms", "en", SAMPLES["receipt"]).body
    assert default == Templates().render("receipt", "sms", "en", SAMPLES["receipt"]).body


def test_an_email_override_with_both_blocks_is_used(tmp_path: Path) -> None:
    root = override(
        tmp_path,
        "refusal/email.en.j2",
        "{% block subject %}Dossier {{ code }} refused{% endblock %}"
        "{% block body %}Reason: {{ reason }}{% endblock %}",
    )
    rendered = Templates(root).render("refusal", "email", "en", SAMPLES["refusal"])
    assert rendered.subject == f"Dossier {SAMPLES['refusal']['code']} refused"
    assert rendered.body == f"Reason: {SAMPLES['refusal']['reason']}\n"


def test_an_override_naming_an_unknown_fact_is_a_problem(tmp_path: Path) -> None:
    root = override(tmp_path, "receipt/sms.vi.j2", "HS {{ code }} hẹn {{ appointment }}\n")
    with pytest.raises(TemplateProblems) as raised:
        Templates(root)
    message = str(raised.value)
    assert "receipt/sms.vi.j2" in message and "appointment" in message
    [problem] = raised.value.problems
    assert problem.startswith("receipt/sms.vi.j2:")
    assert "pin" in problem  # it lists the facts the message does have


def test_a_fact_of_another_message_is_unknown_too(tmp_path: Path) -> None:
    assert "reason" in FIELDS["refusal"] and "reason" not in FIELDS["receipt"]
    root = override(
        tmp_path,
        "receipt/email.en.j2",
        "{% block subject %}{{ reason }}{% endblock %}{% block body %}x{% endblock %}",
    )
    with pytest.raises(TemplateProblems, match=r"receipt/email\.en\.j2: names reason"):
        Templates(root)


def test_an_email_override_without_a_subject_is_a_problem(tmp_path: Path) -> None:
    root = override(tmp_path, "receipt/email.vi.j2", "{% block body %}HS {{ code }}{% endblock %}")
    with pytest.raises(TemplateProblems) as raised:
        Templates(root)
    [problem] = raised.value.problems
    assert "receipt/email.vi.j2" in problem and "subject" in problem
    assert "body" not in problem.split("blocks", 1)[1]


def test_an_email_override_without_blocks_is_a_problem(tmp_path: Path) -> None:
    root = override(tmp_path, "receipt/email.vi.j2", "HS {{ code }}")
    with pytest.raises(
        TemplateProblems, match=r"receipt/email\.vi\.j2: an email needs blocks body, subject"
    ):
        Templates(root)


def test_a_syntax_error_is_a_problem(tmp_path: Path) -> None:
    root = override(tmp_path, "refusal/sms.en.j2", "Dossier {{ code }} refused {% if reason %}\n")
    with pytest.raises(TemplateProblems) as raised:
        Templates(root)
    [problem] = raised.value.problems
    assert problem.startswith("refusal/sms.en.j2: TemplateSyntaxError")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    override(tmp_path, "receipt/sms.vi.j2", "{{ nope }}")
    override(tmp_path, "apology/sms.en.j2", "{{ code ")
    with pytest.raises(TemplateProblems) as raised:
        Templates(tmp_path)
    assert len(raised.value.problems) == 2
    assert any("receipt/sms.vi.j2" in p and "nope" in p for p in raised.value.problems)
    assert any(p.startswith("apology/sms.en.j2:") for p in raised.value.problems)


def test_a_templates_dir_that_does_not_exist_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(TemplateProblems) as raised:
        Templates(missing)
    assert str(missing) in str(raised.value) and "TEMPLATES_DIR" in str(raised.value)


def test_a_templates_dir_that_is_a_file_is_a_problem(tmp_path: Path) -> None:
    file = tmp_path / "templates.txt"
    file.write_text("", encoding="utf-8")
    with pytest.raises(TemplateProblems, match="not a directory"):
        Templates(file)


@pytest.mark.parametrize(
    ("kind", "channel", "language"),
    [("receipt", "sms", "vi"), ("receipt", "email", "en"), ("refusal", "sms", "en")],
)
def test_rendering_without_a_fact_raises_instead_of_a_blank(
    kind: str, channel: str, language: str
) -> None:
    context = {k: v for k, v in SAMPLES[kind].items() if k != "code"}
    with pytest.raises(UndefinedError, match="code"):
        Templates().render(kind, channel, language, context)


def test_an_override_rendered_without_a_fact_raises(tmp_path: Path) -> None:
    templates = Templates(override(tmp_path, "receipt/sms.vi.j2", "PIN {{ pin }}\n"))
    with pytest.raises(UndefinedError, match="pin"):
        templates.render("receipt", "sms", "vi", {"code": "X-1"})
