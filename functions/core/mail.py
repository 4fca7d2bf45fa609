"""The Mailer port: SMTP (STARTTLS, auth; SendGrid's relay smtp.sendgrid.net, user `apikey`) in production,
the outbox on the emulators."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from core import outbox, secrets, settings


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # set: shown inline by the html part (`<img src="cid:...">`)


@dataclass(frozen=True)
class Email:
    """One email to send; refs are ids (lead, visit) it concerns, for erasure."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    refs: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    # The From header (an organization's own sender) and Reply-To; None: the platform's sender (login codes).
    sender: str | None = None
    reply_to: str | None = None


def sendgrid_headers(**unique_args: str) -> dict[str, str]:
    """The X-SMTPAPI header SendGrid's SMTP relay reads (and removes): unique_args come back at the top level of
    every Event Webhook event of the email, which is how a delivery event finds its message."""
    return {"X-SMTPAPI": json.dumps({"unique_args": unique_args}, separators=(",", ":"))}


class Mailer(Protocol):
    """Sends an email or raises."""

    def send(self, email: Email) -> None:
        """Deliver one email."""
        ...


def build_message(email: Email, sender: str) -> EmailMessage:
    """The MIME message of an email: text (and html) with attachments."""
    message = EmailMessage()
    sender = email.sender or sender
    message["From"] = sender
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
        html = message.get_body(preferencelist=("html",))
        for attachment in email.attachments:
            if attachment.content_id and isinstance(html, EmailMessage):
                maintype, _, subtype = attachment.content_type.partition("/")
                html.add_related(
                    attachment.data,
                    maintype=maintype,
                    subtype=subtype,
                    cid=f"<{attachment.content_id}>",
                    filename=attachment.filename,
                )
    for attachment in email.attachments:
        if attachment.content_id and email.html:
            continue
        maintype, _, subtype = attachment.content_type.partition("/")
        if maintype == "text" and subtype == "calendar":
            message.add_attachment(
                attachment.data.decode(),
                subtype="calendar",
                filename=attachment.filename,
                params={"method": email.headers.get("X-Calendar-Method", "REQUEST")},
            )
        else:
            message.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.filename
            )
    return message


class SmtpMailer:
    """Production: SMTP with STARTTLS and login."""

    def __init__(self, host: str, port: int, user: str, password: str, sender: str, *, starttls: bool = True) -> None:
        self.host, self.port, self.user, self.password, self.sender = host, port, user, password, sender
        self.starttls = starttls

    def send(self, email: Email) -> None:
        """Deliver over SMTP."""
        import smtplib
        import ssl

        with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(build_message(email, self.sender))


class OutboxMailer:
    """Emulator: the email lands in the outbox."""

    def send(self, email: Email) -> None:
        """Record the email."""
        outbox.record(
            channel="email",
            to=email.to,
            subject=email.subject,
            text=email.text,
            refs=list(email.refs),
            sender=email.sender,
            replyTo=email.reply_to,
            attachments=[
                {
                    "fileName": a.filename,
                    "contentType": a.content_type,
                    "sizeBytes": len(a.data),
                    "contentId": a.content_id,
                }
                for a in email.attachments
            ],
        )


_mailer: Mailer | None = None


def platform_sender() -> str:
    """The platform's own From address (MAIL_FROM): login codes, and visit emails of an organization without
    a sender of its own (under the organization's name)."""
    return settings.get().mail_from


def mailer() -> Mailer:
    """The configured Mailer, chosen once: the outbox on the emulators, SMTP in production."""
    global _mailer
    if _mailer is None:
        config = settings.get()
        if config.emulator:
            _mailer = OutboxMailer()
        else:
            password = secrets.value(secrets.SMTP_PASSWORD) if config.smtp_user else ""
            host = settings.require("SMTP_HOST", config.smtp_host, "email")
            _mailer = SmtpMailer(host, config.smtp_port, config.smtp_user, password, config.mail_from)
    return _mailer


def install(replacement: Mailer | None) -> None:
    """Replace the mailer (tests)."""
    global _mailer
    _mailer = replacement
