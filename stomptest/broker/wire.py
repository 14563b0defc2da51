"""Header text and raw bytes the way a profile treats them: lenient escapes, unencodable values, refused frames.

Plain functions used where a real broker departs from the codec's strict reading: reading.py, connecting.py,
connection.py, output.py and sending.py.
"""

from __future__ import annotations

import re

from stomptest.protocol import spec
from stomptest.protocol.frame import Frame


def bad_frame_head(stream: bytes, at: int) -> tuple[str, Frame | None]:
    """The command and headers of a frame the parser refused, read leniently (for the ERROR's receipt-id)."""
    end = stream.find(b"\x00", at)
    head = stream[at : end if end >= 0 else len(stream)].split(b"\n\n", 1)[0]
    lines = head.decode("utf-8", "replace").replace("\r", "").split("\n")
    command = lines[0][:40]
    pairs = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
    try:
        return command, Frame(command or "?", [(n, v) for n, v in pairs if n])
    except (TypeError, ValueError):
        return command, None


def keep_undefined_escapes(stream: bytes, at: int, version: str) -> bytes | None:
    """`stream` from the frame at `at` on, its undefined escapes turned into an escaped backslash and the character.

    None when the head of that frame is not all there.
    """
    end = stream.find(b"\n\n", at)
    crlf_end = stream.find(b"\n\r\n", at) if version == "1.2" else -1
    if crlf_end >= 0 and (end < 0 or crlf_end < end):
        end = crlf_end
    if end < 0:
        return None
    valid = b"nc\\r" if version == "1.2" else b"nc\\"

    def fix(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        return match.group(0) if code and code in valid else b"\\\\" + code

    return re.sub(rb"\\(.?)", fix, stream[at:end], flags=re.S) + stream[end:]


def lenient_unescape(value: str) -> str:
    """ActiveMQ: decode the escapes it knows, keep any other backslash as it is."""
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value) and value[index + 1] in "nc\\r":
            out.append({"n": "\n", "c": ":", "\\": "\\", "r": "\r"}[value[index + 1]])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def trim_values(frame: Frame, how: str) -> Frame:
    """`frame` with its header values trimmed of leading ("leading") or of all outer ("both") blanks."""
    pairs = frame.raw_headers
    if how == "leading":
        if not any(value[:1] in _BLANKS for _, value in pairs if value):
            return frame
        return Frame(frame.command, [(name, value.lstrip(" \t")) for name, value in pairs], frame.body)
    if not any(value[:1] in _BLANKS or value[-1:] in _BLANKS for _, value in pairs if value):
        return frame
    return Frame(frame.command, [(name, value.strip(" \t")) for name, value in pairs], frame.body)


_BLANKS = frozenset(" \t")


def strict_unescape(value: str) -> str:
    """STOMP 1.2 unescaping; an undefined escape is a ValueError."""
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            code = value[index + 1 : index + 2]
            decoded = spec.UNESCAPES["1.2"].get(code)
            if decoded is None:
                raise ValueError(f"invalid escape \\{code} in a CONNECT header")
            out.append(decoded)
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def encodable(name: str, value: str, version: str = "1.0") -> bool:
    text = name + value
    if not name or ":" in name or any(c in text for c in "\n\r\x00"):
        return False
    try:
        text.encode("utf-8", "surrogateescape" if version == "1.0" else "strict")
    except UnicodeEncodeError:
        return False
    return True


def undefined_escape(stream: bytes, version: str) -> str:
    """The first escape `version` does not define in the header line `stream` starts with (`\\t`), or ""."""
    line = stream.split(b"\n", 1)[0].decode("utf-8", "replace")
    known = spec.UNESCAPES.get(version, {})
    index = line.find("\\")
    while 0 <= index < len(line) - 1:
        if line[index + 1] not in known:
            return line[index : index + 2]
        index = line.find("\\", index + 2)
    return ""


def printable(text: str) -> str:
    """Error texts quote client input, which in 1.0 may hold bytes that are not UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
