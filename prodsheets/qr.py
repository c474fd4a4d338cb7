"""What a ticket's QR code says, and the code itself.

The payload comes from a template (``--qr-template``) with a fixed set of fields. The
template is checked once, when the settings are loaded, so a bad one is a one-line
configuration error and never a crash in the middle of a run.
"""

from __future__ import annotations

import io
import string
from collections.abc import Mapping

from .errors import ConfigError

DEFAULT_QR_TEMPLATE = "prodsheets:order={order_id};item={item};design={design_id};v={version}"
QR_FIELDS = (
    "order_id", "order_number", "order_name", "item", "items", "quantity",
    "design_id", "design_number", "brand", "version",
)  # fmt: skip


class _StrictFormatter(string.Formatter):
    """``str.format`` without attribute or index access, so a QR template from a
    config file cannot reach into Python objects."""

    def get_field(self, field_name: str, args: object, kwargs: Mapping) -> tuple[object, str]:
        if field_name not in QR_FIELDS:
            raise KeyError(field_name)
        return kwargs[field_name], field_name


def validate_qr_template(template: str) -> str:
    """``template`` if it can be filled; else a ``ConfigError`` listing the fields."""
    if not template.strip():
        raise ConfigError("the QR template is empty")
    try:
        qr_text(template, dict.fromkeys(QR_FIELDS, "x"))
    except (KeyError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"invalid QR template {template!r} ({exc}); fields: "
            + ", ".join("{" + f + "}" for f in QR_FIELDS)
        ) from None
    return template


def qr_text(template: str, values: Mapping[str, object]) -> str:
    """The payload for one item (``template`` already validated)."""
    return _StrictFormatter().vformat(template, (), values)


def qr_png(text: str) -> bytes:
    """A pixel-exact QR code: one pixel per module, quiet zone included (4 modules).

    Printed with ``image-rendering: pixelated`` it is as sharp as a vector and
    costs WeasyPrint a fraction of an SVG path. The mask pattern is fixed: letting
    qrcode score all eight cost ~6 ms a code, 8% of a ticket's render; any mask is
    valid and decodes (every sample ticket's code is decoded from a 200 dpi raster in
    the tests)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=4, mask_pattern=0)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    buf = io.BytesIO()
    code.make_image().save(buf, "PNG")
    return buf.getvalue()
