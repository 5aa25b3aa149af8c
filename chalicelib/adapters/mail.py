"""E-mail: templates rendered by the app (Jinja2, HTML and text), sent through SES. A template's
words come from the message catalogue of the mail's `locale` (chalicelib/i18n: `t`, `money`, `date`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import i18n
from ..config import settings
from ..domain.audit import words
from .aws import client

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2  # lazily: only mail-sending handlers pay for it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["words"] = words  # `{{ stage|words }}`: a code is never shown raw
    return env


def render(template: str, to: str, **context: Any) -> Mail:
    """Render `<template>.subject.txt`, `.txt` and `.html` from templates/mail, in the context's
    `locale` (else the settings' default)."""
    env = _env()
    locale = i18n.resolve(context.pop("locale", None), default=settings().default_locale)
    ctx = {"public_url": settings().public_url, "site_url": settings().site_base, **context}
    plain = {**ctx, **i18n.Messages(locale).helpers()}
    html = {**ctx, **i18n.Messages(locale, html=True).helpers()}  # what goes into a message is escaped
    subject = env.get_template(f"{template}.subject.txt").render(**plain).strip()
    return Mail(
        to=to,
        subject=subject,
        text=env.get_template(f"{template}.txt").render(**plain),
        html=env.get_template(f"{template}.html").render(**html),
    )


def send(mail: Mail) -> str:
    response = client("ses").send_email(
        Source=settings().mail_from,
        Destination={"ToAddresses": [mail.to]},
        Message={
            "Subject": {"Data": mail.subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": mail.text, "Charset": "UTF-8"}, "Html": {"Data": mail.html, "Charset": "UTF-8"}},
        },
    )
    return str(response["MessageId"])
