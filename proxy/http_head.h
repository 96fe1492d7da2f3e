/* proxy/http_head.h - strict HTTP/1.x message-head parsing and body framing
 * (RFC 9112). Pure functions over bytes: no allocation, no I/O, no libevent,
 * so they can be unit tested and fuzzed directly. Parsers return slices
 * into the caller's buffer, valid while that buffer is. Called by
 * proxy/conn.c (requests from clients) and proxy/forward.c (responses). */
#ifndef PROXY_HTTP_HEAD_H
#define PROXY_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A header block with more fields than this is refused as too large. */
#define HTTP_FIELDS_MAX 128

struct slice {
    const char *p;
    size_t len;
};

struct http_field {
    struct slice name;  /* token, as sent */
    struct slice value; /* leading and trailing whitespace trimmed */
};

enum http_head_result {
    HTTP_HEAD_DONE = 0, /* a complete head was parsed */
    HTTP_HEAD_AGAIN,    /* valid so far, need more bytes */
    HTTP_HEAD_BAD,      /* malformed: answer 400 */
    HTTP_HEAD_TOO_BIG   /* over max_bytes or HTTP_FIELDS_MAX: answer 431 */
};

struct http_request {
    struct slice method;
    struct slice target;
    int version_minor; /* HTTP/1.<minor>: 0 or 1 */
    struct http_field fields[HTTP_FIELDS_MAX];
    size_t n_fields;
    size_t head_len; /* bytes of the head, up to and including CRLFCRLF */
};

struct http_response {
    int version_minor;
    int status; /* 100..999 */
    struct slice reason;
    struct http_field fields[HTTP_FIELDS_MAX];
    size_t n_fields;
    size_t head_len;
};

/* Parses a request head from the start of <buf> (len bytes). Strict:
 * request line "METHOD SP target SP HTTP/1.x CRLF", method a token, target
 * visible ASCII; fields "name: value CRLF" with name a token; lone LF line
 * endings are accepted as RFC 9112 allows, but a bare CR, NUL or other
 * control byte anywhere, obs-fold (a line starting with SP/HT), whitespace
 * before the colon and empty names are HTTP_HEAD_BAD. If no complete head
 * lies within the first <max_bytes> bytes, HTTP_HEAD_TOO_BIG. Leading empty
 * lines before the request line are skipped (RFC 9112 2.2).
 * On HTTP_HEAD_BAD, *why (if not NULL) gets a short static explanation. */
enum http_head_result http_request_parse(const char *buf, size_t len,
                                         size_t max_bytes,
                                         struct http_request *req,
                                         const char **why);

/* Same for a response head ("HTTP/1.x NNN reason CRLF" + fields). */
enum http_head_result http_response_parse(const char *buf, size_t len,
                                          size_t max_bytes,
                                          struct http_response *resp,
                                          const char **why);

/* True if <p>[0..len) equals <lit>[0..litlen) ignoring ASCII case. */
bool http_eq_nocase(const char *p, size_t len, const char *lit, size_t litlen);

/* True if field name <name> equals <lit> ignoring ASCII case. Inline so
 * that the length of a literal is known at compile time and most
 * mismatches cost one comparison. */
static inline bool
http_name_is(struct slice name, const char *lit)
{
    return http_eq_nocase(name.p, name.len, lit, strlen(lit));
}

/* How a message body is delimited. */
enum http_body_kind {
    HTTP_BODY_NONE = 0, /* no body */
    HTTP_BODY_LENGTH,   /* Content-Length bytes */
    HTTP_BODY_CHUNKED,  /* chunked coding up to the last chunk + trailers */
    HTTP_BODY_CLOSE     /* responses only: until the server closes */
};

struct http_framing {
    enum http_body_kind kind;
    uint64_t length; /* with HTTP_BODY_LENGTH */
    bool close;      /* "Connection: close" or HTTP/1.0 without keep-alive */
};

/* Works out a request's framing from its fields. HTTP_HEAD_BAD (with *why)
 * for the smuggling shapes: Content-Length together with
 * Transfer-Encoding, several differing Content-Length values, a
 * Content-Length that is not a decimal number or overflows, any
 * Transfer-Encoding other than exactly "chunked", Transfer-Encoding on
 * HTTP/1.0. Returns HTTP_HEAD_DONE otherwise. */
enum http_head_result http_request_framing(const struct http_request *req,
                                           struct http_framing *f,
                                           const char **why);

/* Same for a response to a request with method <method>: HEAD, 1xx, 204
 * and 304 have no body; 2xx to CONNECT is not handled here; no length and
 * no chunked means HTTP_BODY_CLOSE. */
enum http_head_result http_response_framing(const struct http_response *resp,
                                            struct slice method,
                                            struct http_framing *f,
                                            const char **why);

/* True if field <name> must not be forwarded: the RFC 9110 7.6.1
 * hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE,
 * Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization,
 * Proxy-Authenticate) and every field named in a Connection header of
 * <fields>. Transfer-Encoding is reported hop-by-hop; the forwarder
 * re-adds "chunked" itself when it relays a chunked body. */
bool http_field_is_hop_by_hop(const struct http_field *fields, size_t n,
                              struct slice name);

/* Sets drop[i] to http_field_is_hop_by_hop(fields, n, fields[i].name) for
 * every field, in one pass over the Connection fields instead of one per
 * field. */
void http_fields_hop_by_hop(const struct http_field *fields, size_t n,
                            bool drop[]);

/* Incremental validator for a chunked body being relayed as is. */
enum chunked_state {
    CHUNKED_SIZE = 0,
    CHUNKED_SIZE_EXT,
    CHUNKED_SIZE_LF,
    CHUNKED_DATA,
    CHUNKED_DATA_CR,
    CHUNKED_DATA_LF,
    CHUNKED_TRAILER,
    CHUNKED_TRAILER_LF,
    CHUNKED_TRAILER_LINE,
    CHUNKED_DONE,
    CHUNKED_ERROR
};

/* Chunk sizes beyond this (2^40, one TiB) are refused as malformed. */
#define CHUNKED_SIZE_MAX ((uint64_t)1 << 40)
/* Bound on chunk extensions and trailer bytes. */
#define CHUNKED_META_MAX 8192

struct chunked {
    enum chunked_state state;
    uint64_t remaining; /* data bytes left in the current chunk */
    size_t size_digits;
    size_t meta_bytes; /* extension + trailer bytes seen */
    bool last;         /* the zero-size chunk was seen */
};

enum chunked_result {
    CHUNKED_MORE = 0, /* all <len> bytes consumed, body not finished */
    CHUNKED_END,      /* body ended after *used bytes */
    CHUNKED_BAD       /* malformed at *used (with *why) */
};

/* Initialises <ck> for a new body. */
void chunked_init(struct chunked *ck);

/* Feeds <len> more body bytes. Sizes are hex (no sign, no "0x", no
 * whitespace, at most 16 digits), lines end in CRLF only (a bare LF is
 * refused: the body is relayed as is, and a server that read it
 * differently would see a different end), extensions
 * and trailers are bounded by CHUNKED_META_MAX. On CHUNKED_END, *used is
 * the number of bytes of <p> that belong to this body. */
enum chunked_result chunked_feed(struct chunked *ck, const char *p, size_t len,
                                 size_t *used, const char **why);

#endif /* PROXY_HTTP_HEAD_H */
