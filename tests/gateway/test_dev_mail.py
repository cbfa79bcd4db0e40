"""The developers' mailbox reader over what the real local SMTP server received: messages newest
first, their text, HTML, attachments and inline images, one part's bytes; unsafe keys find nothing."""

from __future__ import annotations

from crm_gateway.dev_mail import DevMailbox
from crm_platform import mail
from crm_platform.mail import Attachment, InlineImage, Mail, SmtpTransport
from tests.mail import wait_for_mail
from tests.support import SmtpServer

PNG = b"\x89PNG\r\n\x1a\nnot-really-an-image"


async def test_reads_what_the_smtp_server_received(smtp_server: SmtpServer) -> None:
    transport = SmtpTransport("127.0.0.1", smtp_server.port, security="none", timeout=5)
    first = mail.build_message(Mail(to="dev.first@example.cn", subject="first", text="one"), "no-reply@crm.test")
    second = mail.build_message(Mail(
        to="dev.second@example.cn", subject="报表", text="见附件", html='<img src="cid:chart@crm">',
        attachments=(Attachment("报表.pdf", b"%PDF-1.7", "application/pdf"),),
        inline_images=(InlineImage("chart@crm", PNG),),
    ), "no-reply@crm.test")
    for message, to in ((first, "dev.first@example.cn"), (second, "dev.second@example.cn")):
        envelope = mail.Envelope("no-reply@crm.test", [to], mail.wire_bytes(message))
        assert await transport.send([envelope]) == [None]
        wait_for_mail(smtp_server.maildir, to)

    box = DevMailbox(smtp_server.maildir)
    subjects = [m.subject for m in box.list(limit=1000) if m.envelope_to[0].startswith("dev.")]
    assert subjects[:2] == ["报表", "first"]  # newest first
    [report] = box.list(to="DEV.SECOND@example.cn")
    assert (report.text.strip(), report.html.strip()) == ("见附件", '<img src="cid:chart@crm">')
    [pdf] = report.attachments
    [chart] = report.inline
    assert (pdf.filename, pdf.content_type, pdf.size) == ("报表.pdf", "application/pdf", 8)
    assert (chart.content_id, chart.content_type) == ("chart@crm", "image/png")
    assert box.part(report.key, chart.index) == ("image/png", chart.filename, PNG)
    assert box.part(report.key, 0) is None  # the multipart container is not a part to serve
    assert box.get(report.key) is not None
    for unsafe in ("../../etc/passwd", "", "new/" + report.key):
        assert box.get(unsafe) is None
    assert DevMailbox(smtp_server.maildir / "missing").list() == []
