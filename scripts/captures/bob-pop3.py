#!/usr/bin/env python3
# \summary: Bob's POP3 client for scripts/make-captures: USER/PASS, STAT,
# LIST, UIDL, RETR of every message (kept on the server), QUIT, from Bob's
# laptop address.  Usage: bob-pop3.py BOB-ADDR SERVER-ADDR [MIN-MESSAGES]
# (MIN-MESSAGES defaults to 2, what make-captures delivers; the live test
# delivers one)
import poplib
import socket
import sys


class BoundPOP3(poplib.POP3):
    """poplib.POP3 bound to a chosen source address (poplib has no option)."""

    def __init__(self, host, source, port=110, timeout=20):
        self._source = (source, 0)
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=self._source)


def main():
    client, server = sys.argv[1], sys.argv[2]
    want = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    pop = BoundPOP3(server, client)
    print(pop.getwelcome().decode())
    pop.user("bob@b.example")
    pop.pass_("bob-secret")
    count, size = pop.stat()
    print("STAT", count, size)
    print("LIST", pop.list()[1])
    print("UIDL", pop.uidl()[1])
    for i in range(1, count + 1):
        lines = pop.retr(i)[1]
        subject = [l for l in lines if l.lower().startswith(b"subject:")]
        print("RETR", i, len(lines), "lines", subject)
    pop.quit()
    if count < want:
        sys.exit("expected at least %d messages, found %d" % (want, count))


if __name__ == "__main__":
    main()
