"""Message templates: `templates/<message>/<channel>.<language>.j2`, Jinja2 in strict mode.

An operator may override any file by putting one with the same path under `TEMPLATES_DIR`.
Every template (default or override) is checked when the service starts: it must parse, name
only the facts its message has (`domain.messages.FIELDS`), define `subject` and `body` blocks if
it is an email, and render the sample facts. A broken template stops the service at start
instead of sending a citizen an SMS with a blank where the appointment date should be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from notification.domain.messages import CHANNELS, EMAIL, FIELDS, LANGUAGES
from notification.domain.samples import SAMPLES

DEFAULT_DIR = Path(__file__).parent / "templates"


class TemplateProblems(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("templates: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str


def template_name(kind: str, channel: str, language: str) -> str:
    return f"{kind}/{channel}.{language}.j2"


class Templates:
    def __init__(self, override_dir: Path | None = None) -> None:
        self.override_dir = override_dir
        loaders = [FileSystemLoader(str(DEFAULT_DIR))]
        if override_dir is not None:
            if not override_dir.is_dir():
                raise TemplateProblems([f"TEMPLATES_DIR {override_dir} is not a directory"])
            loaders.insert(0, FileSystemLoader(str(override_dir)))
        self.env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,  # plain text: email bodies and SMS, never HTML
            trim_blocks=True,
            lstrip_blocks=True,
        )
        problems = [p for key in self.all_keys() for p in self._check(*key)]
        if problems:
            raise TemplateProblems(problems)

    @staticmethod
    def all_keys() -> list[tuple[str, str, str]]:
        return [
            (kind, channel, language)
            for kind, channels in CHANNELS.items()
            for channel in channels
            for language in LANGUAGES
        ]

    def source_of(self, kind: str, channel: str, language: str) -> str:
        name = template_name(kind, channel, language)
        if self.override_dir is not None and (self.override_dir / name).is_file():
            return "override"
        return "default"

    def render(self, kind: str, channel: str, language: str, context: dict[str, Any]) -> Rendered:
        """Raises jinja2.TemplateError (e.g. UndefinedError) if a fact is missing."""
        template = self.env.get_template(template_name(kind, channel, language))
        if channel == EMAIL:
            ctx = template.new_context(dict(context))
            subject = " ".join("".join(template.blocks["subject"](ctx)).split())
            body = "".join(template.blocks["body"](ctx)).strip() + "\n"
            return Rendered(subject, body)
        lines = (line.strip() for line in template.render(**context).splitlines())
        return Rendered(None, "\n".join(line for line in lines if line))

    def _check(self, kind: str, channel: str, language: str) -> list[str]:
        name = template_name(kind, channel, language)
        try:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            tree = self.env.parse(source)
        except TemplateError as exc:
            return [f"{name}: {type(exc).__name__}: {exc}"]
        problems = []
        unknown = meta.find_undeclared_variables(tree) - set(FIELDS[kind])
        if unknown:
            problems.append(
                f"{name}: names {', '.join(sorted(unknown))}, not facts of '{kind}' "
                f"(it has: {', '.join(FIELDS[kind])})"
            )
        if channel == EMAIL:
            template = self.env.get_template(name)
            missing = {"subject", "body"} - set(template.blocks)
            if missing:
                problems.append(f"{name}: an email needs blocks {', '.join(sorted(missing))}")
        if not problems:
            try:
                self.render(kind, channel, language, SAMPLES[kind])
            except TemplateError as exc:
                problems.append(f"{name}: does not render the sample: {exc}")
        return problems
