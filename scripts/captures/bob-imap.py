#!/usr/bin/env python3
# \summary: Bob's IMAP client for scripts/make-captures: LOGIN, SELECT INBOX,
# FETCH of the flags and envelope, FETCH BODY[] of each message, LOGOUT, from
# Bob's laptop address.  Usage: bob-imap.py BOB-ADDR SERVER-ADDR [MIN-MESSAGES]
# (MIN-MESSAGES defaults to 2, what make-captures delivers; the live test
# delivers one)
import imaplib
import socket
import sys


class BoundIMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 bound to a chosen source address (imaplib has no option)."""

    def __init__(self, host, source, port=143, timeout=20):
        self._source = (source, 0)
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=self._source)


def main():
    client, server = sys.argv[1], sys.argv[2]
    want = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    imap = BoundIMAP4(server, client)
    imap.login("bob@b.example", "bob-secret")
    typ, data = imap.select("INBOX")
    count = int(data[0])
    print("SELECT", typ, count)
    typ, data = imap.fetch("1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)])")
    print("FETCH headers", typ, data)
    for i in range(1, count + 1):
        typ, data = imap.fetch(str(i), "(BODY[])")
        print("FETCH BODY[]", i, typ, len(data[0][1]), "bytes")
    imap.logout()
    if count < want:
        sys.exit("expected at least %d messages, found %d" % (want, count))


if __name__ == "__main__":
    main()
