"""memviz.data.corpora and memviz.data.text8: normalisation by text8's rules, and the text8 download against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

from memviz import data
from memviz.data import corpora, text8
from memviz.data.corpora import is_normalized, normalize_text
from memviz.data.text8 import DownloadError, download_text8, read_text8

# -- normalisation -----------------------------------------------------------------------------------


def wikifil(text: str) -> str:
    """wikifil.pl's cleaning, written out independently: lower, spell digits, non a-z -> space, squeeze."""
    text = text.lower()
    for digit, word in enumerate(corpora.DIGIT_WORDS):
        text = text.replace(str(digit), f" {word} ")
    text = re.sub(r"[^a-z]+", " ", text).strip()
    return " " + text if text else ""


def test_digits_are_spelled_one_by_one():
    assert normalize_text("In 1811.").text == " in one eight one one"
    assert normalize_text("x2y").text == " x two y"  # a digit splits a word, as in text8
    assert normalize_text("0").text == " zero"


def test_case_punctuation_and_spaces():
    result = normalize_text("  Hello,\tWORLD!\n\n-- it's  _so_ ")
    assert result.text == " hello world it s so"
    assert result.dropped == {",": 1, "!": 1, "-": 2, "'": 1, "_": 2}  # whitespace is not "dropped"
    assert result.n_input_chars == 31
    assert result.n_words == 5


def test_accents_are_stripped_and_unspellable_letters_reported():
    result = normalize_text("Café Æsir naïve Straße £5 Ωmega 北")
    assert result.text == " cafe aesir naive strasse five mega"
    assert result.transliterated == {"é": 1, "Æ": 1, "ï": 1, "ß": 1}
    assert result.dropped == {"£": 1, "Ω": 1, "北": 1}
    assert "'£'×1" in result.summary()


def test_normalised_text_is_a_fixed_point():
    text = " context the formal study of grammar"
    assert normalize_text(text).text == text
    assert normalize_text(text).dropped == {} and normalize_text(text).n_words == 6


def test_empty_and_letter_free_text():
    assert normalize_text("").text == ""
    assert normalize_text(" ,;!? 北京 ").text == ""
    assert normalize_text(" ,;!? 北京 ").n_words == 0


def test_ascii_equals_an_independent_port_of_wikifil():
    rng = random.Random(0)
    alphabet = "abcXYZ 0123456789.,;:'\"!?-_()\n\t"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        assert normalize_text(text).text == wikifil(text), repr(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", True),
        (" a", True),
        (" ab cd", True),
        ("a", False),
        (" a ", False),
        (" a  b", False),
        (" A", False),
        (" é", False),
    ],
)
def test_is_normalized(text, expected):
    assert is_normalized(text) is expected


# -- download ----------------------------------------------------------------------------------------

MEMBER = (" anarchism originated as a term of abuse first used against early working class radicals" * 40).encode()
SHA256 = hashlib.sha256(MEMBER).hexdigest()


def make_zip(member: bytes = MEMBER, name: str = "text8") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, member)
    return buffer.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.payload``; ``server.mode`` says how to misbehave."""

    def do_GET(self):
        self.server.requests += 1
        payload, mode = self.server.payload, self.server.mode
        if mode == "404":
            self.send_error(404)
            return
        if mode == "stall":  # half the bytes, then nothing
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            time.sleep(self.server.stall_seconds)
            return
        self.send_response(200)
        announced = len(payload) + 1000 if mode == "lie" else len(payload)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2] if mode == "truncate" else payload)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.payload, httpd.mode, httpd.requests, httpd.stall_seconds = make_zip(), "ok", 0, 3.0
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/text8.zip"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def sizes(server) -> dict:
    return dict(zip_size=len(server.payload), member_size=len(MEMBER), member_sha256=SHA256, progress=False)


def test_download_succeeds_and_is_not_repeated(server, tmp_path):
    dest = tmp_path / "text8.zip"
    assert download_text8(server.url, dest, **sizes(server)) == dest
    assert dest.read_bytes() == server.payload
    assert read_text8(dest, member_size=len(MEMBER), member_sha256=SHA256) == MEMBER.decode()
    assert download_text8(server.url, dest, **sizes(server)) == dest
    assert server.requests == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text8.zip"]


def test_url_from_environment_and_progress_bar(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(text8.TEXT8_URL_ENV, server.url)
    download_text8(dest=tmp_path / "text8.zip", **{**sizes(server), "progress": True})
    assert server.requests == 1
    assert "text8.zip" in capsys.readouterr().err  # tqdm's bar


def corrupt(payload: bytes) -> bytes:
    """Flip one byte inside the compressed stream (not in the headers): the CRC check must catch it."""
    damaged = bytearray(payload)
    damaged[60] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize(
    "mode, payload, match",
    [
        ("ok", corrupt(make_zip()), "CRC|Bad|invalid|Error"),
        ("ok", make_zip(name="other"), "no item named|not a valid"),
        ("ok", make_zip(MEMBER + b" more"), "member 'text8' has"),
        ("ok", b"<html>not a zip</html>", "announces|not a valid"),
        ("truncate", make_zip(), "IncompleteRead|broke off"),
        ("lie", make_zip(), "IncompleteRead|broke off|announces"),
        ("404", make_zip(), "404"),
    ],
    ids=["corrupt", "no-member", "member-size", "not-zip", "truncated", "lying-length", "http-404"],
)
def test_bad_downloads_are_rejected_and_leave_no_file(server, tmp_path, mode, payload, match):
    expected = dict(zip_size=None, member_size=len(MEMBER), member_sha256=SHA256, progress=False)  # size check off
    server.mode, server.payload = mode, payload
    dest = tmp_path / "text8.zip"
    with pytest.raises(DownloadError, match=match) as error:
        download_text8(server.url, dest, **expected)
    assert list(tmp_path.iterdir()) == []
    assert str(dest.resolve()) in str(error.value)


def test_size_mismatch_is_rejected_before_downloading(server, tmp_path):
    with pytest.raises(DownloadError, match="announces"):
        download_text8(server.url, tmp_path / "text8.zip", zip_size=len(server.payload) + 1, member_size=len(MEMBER))
    assert list(tmp_path.iterdir()) == []


def test_offline_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MEMVIZ_CACHE", str(tmp_path))
    with pytest.raises(DownloadError) as error:
        download_text8(f"http://127.0.0.1:{port}/text8.zip", progress=False)
    message = str(error.value)
    assert "refused" in message.lower()
    assert str((tmp_path / "text8.zip").resolve()) in message
    assert text8.TEXT8_URL in message and "31,344,016" in message
    assert list(tmp_path.iterdir()) == []


def test_truncated_file_put_by_hand_is_reported(tmp_path):
    dest = tmp_path / "text8.zip"
    dest.write_bytes(make_zip()[:-30])
    with pytest.raises(DownloadError, match="delete it"):
        read_text8(dest, member_size=len(MEMBER), member_sha256=SHA256)


def test_another_text_of_the_right_size_is_rejected(server, tmp_path):
    """A sound zip whose member has text8's name and size but other content: the SHA-256 tells them apart."""
    server.payload = make_zip(MEMBER.replace(b"anarchism", b"socialism"))
    assert len(server.payload) != 0 and len(MEMBER.replace(b"anarchism", b"socialism")) == len(MEMBER)
    with pytest.raises(DownloadError, match="SHA-256"):
        download_text8(server.url, tmp_path / "text8.zip", **sizes(server))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "text8.zip").write_bytes(server.payload)  # the same file put by hand
    with pytest.raises(DownloadError, match="SHA-256"):
        read_text8(tmp_path / "text8.zip", member_size=len(MEMBER), member_sha256=SHA256)


def test_a_stalled_download_is_rejected_and_leaves_no_file(server, tmp_path):
    server.mode, server.stall_seconds = "stall", 3.0
    with pytest.raises(DownloadError, match="timed out"):
        download_text8(server.url, tmp_path / "text8.zip", **{**sizes(server), "timeout": 0.5})
    assert list(tmp_path.iterdir()) == []


KILLED_DOWNLOAD = """
import sys
from memviz.data import text8
text8.download_text8(sys.argv[1], text8.Path(sys.argv[2]), zip_size=None, member_size=1, progress=False, timeout=60)
"""


def test_a_download_killed_midway_leaves_no_part_file_for_good(server, tmp_path):
    """kill -9 during a download leaves its ``.part`` file; the next download removes it (a live one's stays)."""
    server.mode, server.stall_seconds = "stall", 30.0
    dest = tmp_path / "text8.zip"
    child = subprocess.Popen([sys.executable, "-c", KILLED_DOWNLOAD, server.url, str(dest)])
    try:
        for _ in range(1200):  # wait until the child has its temporary file
            parts = list(tmp_path.glob(".text8.zip.*.part"))
            if parts:
                break
            time.sleep(0.05)
        assert parts, "the child never started downloading"
        time.sleep(0.5)  # now inside the transfer, waiting for the rest of the bytes
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    live = tmp_path / f".text8.zip.{os.getpid()}.mine.part"  # a download of this very process, in progress
    live.write_bytes(b"x")
    server.mode = "ok"
    download_text8(server.url, dest, **sizes(server))
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "text8.zip"]


def test_load_dataset_text8_end_to_end(server, tmp_path, monkeypatch):
    """load_dataset("text8") downloads, builds and caches, with the expected sizes made tiny."""
    monkeypatch.setenv("MEMVIZ_CACHE", str(tmp_path))
    monkeypatch.setenv(text8.TEXT8_URL_ENV, server.url)
    monkeypatch.setattr(text8, "TEXT8_ZIP_SIZE", len(server.payload))
    monkeypatch.setattr(text8, "TEXT8_SIZE", len(MEMBER))
    monkeypatch.setattr(text8, "TEXT8_SHA256", SHA256)
    assert corpora.load_corpus("text8") == MEMBER.decode()
    dataset = data.load_dataset("text8", vocab_size=8, max_length=40)
    assert server.requests == 1
    assert dataset.stats.n_words == 14 * 40 and dataset.stats.n_distinct_words == 14
    assert len(dataset.vocab) == 10
    again = data.load_dataset("text8", vocab_size=8, max_length=40)
    assert np.array_equal(again.train.target, dataset.train.target)
    article = data.load_dataset("text8", max_length=40, article_vocab=True)
    assert article.vocab == data.Vocabulary.article()
    assert article.stats.oov_rate == 0.0  # all fourteen words are among the article's 16,384


def test_the_data_readme_states_the_shipped_corpus_figures():
    """data/README.md's distinct words and vocabulary coverage are the shipped Austen dataset's."""
    from memviz.core.paths import DATA_DIR

    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    stats = data.load_dataset("austen").stats
    distinct = int(re.search(r"Austen has only ([\d,]+) distinct words", readme).group(1).replace(",", ""))
    covered = float(re.search(r"4,096 covers ([\d.]+) % of the word tokens", readme).group(1))
    assert distinct == stats.n_distinct_words
    assert covered == pytest.approx(100 * stats.coverage, abs=0.05)
