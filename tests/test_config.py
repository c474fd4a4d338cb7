"""Settings precedence: flags, then environment, then the TOML file."""

from __future__ import annotations

import pytest

from prodsheets.config import DEFAULT_ASSET_HOSTS, PageSize, PrinterAddress, load_settings
from prodsheets.errors import ConfigError


def test_precedence_flags_env_file(tmp_path):
    (tmp_path / "prodsheets.toml").write_text(
        'api_url = "http://file"\nbrand = "file-brand"\ntoken = "file-token"\n'
        'asset_hosts = ["cdn.example.com"]\nqr_template = "{order_id}"\n'
    )
    from_file = load_settings({}, environ={}, cwd=tmp_path)
    assert (from_file.api_url, from_file.brand, from_file.token) == (
        "http://file",
        "file-brand",
        "file-token",
    )
    assert from_file.asset_hosts == ("cdn.example.com",)
    env = {"PRODSHEETS_BRAND": "env-brand", "PRODSHEETS_TOKEN": "env-token"}
    from_env = load_settings({}, environ=env, cwd=tmp_path)
    assert (from_env.api_url, from_env.brand, from_env.token) == (
        "http://file",
        "env-brand",
        "env-token",
    )
    from_flags = load_settings({"brand": "flag-brand", "token": None}, environ=env, cwd=tmp_path)
    assert (from_flags.brand, from_flags.token) == ("flag-brand", "env-token")


def test_defaults_without_file(tmp_path):
    settings = load_settings({}, environ={}, cwd=tmp_path)
    assert settings.api_url == "https://api.mycustomizer.com"
    assert settings.asset_hosts == DEFAULT_ASSET_HOSTS


def test_missing_token_and_brand_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="PRODSHEETS_BRAND"):
        load_settings({}, environ={"PRODSHEETS_TOKEN": "t"}, cwd=tmp_path).require_api()
    with pytest.raises(ConfigError, match="PRODSHEETS_TOKEN"):
        load_settings({}, environ={"PRODSHEETS_BRAND": "b"}, cwd=tmp_path).require_api()


def test_token_not_in_repr(tmp_path):
    settings = load_settings({"token": "sekrit", "brand": "b"}, environ={}, cwd=tmp_path)
    assert "sekrit" not in repr(settings)


def test_explicit_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings({}, config_file=tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("brand = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({}, config_file=bad, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[prodsheets]\nbrandd = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({}, config_file=unknown, environ={})


@pytest.mark.parametrize(
    ("source", "value", "message"),
    [
        ("flags", "{order_id.__class__}", "invalid QR template"),
        ("env", "{nope}", "invalid QR template"),
        ("file", "   ", "QR template is empty"),
    ],
)
def test_qr_template_is_checked_once_wherever_it_comes_from(tmp_path, source, value, message):
    flags = {"qr_template": value} if source == "flags" else {}
    environ = {"PRODSHEETS_QR_TEMPLATE": value} if source == "env" else {}
    if source == "file":
        (tmp_path / "prodsheets.toml").write_text(f'qr_template = "{value}"\n')
    with pytest.raises(ConfigError, match=message):
        load_settings(flags, environ=environ, cwd=tmp_path)


def test_page_size_and_template_folder_are_checked(tmp_path):
    (tmp_path / "prodsheets.toml").write_text('page_size = "A3"\n')
    with pytest.raises(ConfigError, match="unknown page size 'A3'; use one of A4, Letter"):
        load_settings({}, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="template folder not found"):
        load_settings({"template_dir": tmp_path / "nope"}, environ={}, cwd=tmp_path / "x")
    settings = load_settings({"page_size": "4x6in"}, environ={}, cwd=tmp_path / "x")
    assert settings.page_size is PageSize.LABEL


def test_settings_cannot_be_changed_after_the_check(tmp_path):
    settings = load_settings({}, environ={}, cwd=tmp_path)
    with pytest.raises(AttributeError):
        settings.qr_template = "{order_id.__class__}"  # type: ignore[misc]


def test_the_printer_from_flag_env_or_file(tmp_path):
    (tmp_path / "prodsheets.toml").write_text('printer = "workshop"\n')
    from_file = load_settings({}, environ={}, cwd=tmp_path)
    assert from_file.printer == PrinterAddress("workshop") and from_file.printer.is_queue
    env = {"PRODSHEETS_PRINTER": "ipps://printer.local/ipp/print",
           "PRODSHEETS_PRINTER_FINGERPRINT": "ab" * 32}  # fmt: skip
    from_env = load_settings({}, environ=env, cwd=tmp_path)
    assert str(from_env.printer) == "ipps://printer.local/ipp/print"
    assert not from_env.printer.is_queue
    assert from_env.printer_fingerprint == ":".join(["AB"] * 32)
    from_flag = load_settings({"printer": "front-desk"}, environ=env, cwd=tmp_path)
    assert from_flag.printer == PrinterAddress("front-desk")
    assert load_settings({}, environ={}, cwd=tmp_path / "x").printer is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("socket://10.0.0.9:9100", "set up a CUPS queue"),
        ("ipp:///ipp/print", "names no host"),
        ("work shop", "neither a CUPS queue name nor a printer URI"),
        ("-o", "neither a CUPS queue name nor a printer URI"),
        ("a/b", "neither a CUPS queue name nor a printer URI"),
    ],
)
def test_a_printer_that_cannot_be_one_is_refused_at_once(tmp_path, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({"printer": value}, environ={}, cwd=tmp_path)


def test_a_fingerprint_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="printer_fingerprint: not a SHA-256 fingerprint"):
        load_settings({}, environ={"PRODSHEETS_PRINTER_FINGERPRINT": "abc"}, cwd=tmp_path)


def test_station_password_is_checked_and_never_shown(tmp_path):
    (tmp_path / "prodsheets.toml").write_text('station_password = "from the file"\n')
    from_file = load_settings({}, environ={}, cwd=tmp_path)
    assert from_file.station_password == "from the file"
    env = {"PRODSHEETS_STATION_PASSWORD": "from the environment"}
    from_env = load_settings({}, environ=env, cwd=tmp_path)
    assert from_env.station_password == "from the environment"
    assert "from the" not in repr(from_env)
    for bad in ("short", 12345678):
        (tmp_path / "prodsheets.toml").write_text(f"station_password = {bad!r}\n".replace("'", '"'))
        with pytest.raises(ConfigError, match="at least 8 characters"):
            load_settings({}, environ={}, cwd=tmp_path)
