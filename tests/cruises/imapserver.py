"""A small IMAP4rev1 server on 127.0.0.1 for the mailbox test: LOGIN, SELECT, UID SEARCH UNSEEN,
UID FETCH BODY.PEEK[], UID STORE +FLAGS (\\Seen), LOGOUT — what ``apps.cruises.mailbox`` speaks."""

from __future__ import annotations

import socketserver
import threading


class Mailbox:
    def __init__(self, user: str, password: str):
        self.user, self.password = user, password
        self.messages: dict[int, bytes] = {}
        self.seen: set[int] = set()
        self.logins: list[str] = []

    def add(self, raw: bytes) -> int:
        uid = len(self.messages) + 1
        self.messages[uid] = raw
        return uid


def _handler(box: Mailbox):
    class Handler(socketserver.StreamRequestHandler):
        def send(self, text: str | bytes) -> None:
            self.wfile.write(text if isinstance(text, bytes) else text.encode())

        def handle(self) -> None:
            self.send("* OK IMAP4rev1 test server ready\r\n")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                tag, _, rest = line.decode().strip().partition(" ")
                command = rest.upper()
                if command.startswith("CAPABILITY"):
                    self.send(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK CAPABILITY completed\r\n")
                elif command.startswith("LOGIN"):
                    user, password = (part.strip('"') for part in rest.split(" ", 2)[1:3])
                    box.logins.append(user)
                    ok = (user, password) == (box.user, box.password)
                    self.send(f"{tag} OK LOGIN completed\r\n" if ok else f"{tag} NO LOGIN failed\r\n")
                elif command.startswith("SELECT"):
                    self.send(
                        f"* {len(box.messages)} EXISTS\r\n* 0 RECENT\r\n{tag} OK [READ-WRITE] SELECT completed\r\n"
                    )
                elif command.startswith("UID SEARCH"):
                    uids = " ".join(str(u) for u in box.messages if u not in box.seen)
                    self.send(
                        f"* SEARCH {uids}\r\n{tag} OK SEARCH completed\r\n".replace(
                            "SEARCH \r\n", "SEARCH\r\n"
                        )
                    )
                elif command.startswith("UID FETCH"):
                    uid = int(rest.split()[2])
                    raw = box.messages[uid]
                    self.send(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
                    self.send(f"{tag} OK FETCH completed\r\n")
                elif command.startswith("UID STORE"):
                    uid = int(rest.split()[2])
                    box.seen.add(uid)
                    self.send(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))\r\n{tag} OK STORE completed\r\n")
                elif command.startswith("LOGOUT"):
                    self.send(f"* BYE\r\n{tag} OK LOGOUT completed\r\n")
                    return
                else:
                    self.send(f"{tag} BAD unknown command\r\n")

    return Handler


class ImapServer:
    def __init__(self, box: Mailbox):
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(box))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ImapServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
