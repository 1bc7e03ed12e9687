/* \summary: RFC 5322 message and MIME outline parser shared by SMTP, POP3 and IMAP */
#ifndef WT_PROTO_IMF_H
#define WT_PROTO_IMF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * A streaming parser for one Internet message (RFC 5322 + MIME).  Feed it the
 * message bytes (already dot-unstuffed for SMTP DATA; as retrieved for
 * POP3/IMAP) in any number of pieces; it keeps the header fields (capped)
 * and walks the MIME structure without keeping bodies.
 */
typedef struct wt_imf wt_imf_t;

wt_imf_t *wt_imf_new(void);
void wt_imf_feed(wt_imf_t *m, const uint8_t *p, size_t n);
/*
 * Ends the message and returns a new JSON object:
 *   {"from","to","cc","subject","date","message_id","in_reply_to",
 *    "return_path","user_agent","content_type",
 *    "received":[...every Received field, in order...],
 *    "headers":[{"name","value"}...], "size" (bytes of the whole message),
 *    "body_size", "mime":[{"content_type","charset","transfer_encoding",
 *    "filename","size","depth"}...], "truncated" (bool: a cap was hit)}
 * Absent single fields are null.  Values are unfolded, RFC 2047 decoded to
 * UTF-8.  Frees nothing: call wt_imf_free().
 */
json_t *wt_imf_finish(wt_imf_t *m);
void wt_imf_free(wt_imf_t *m);

#endif /* WT_PROTO_IMF_H */
