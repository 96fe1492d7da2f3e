/* proxy/http_head.c - strict HTTP/1.x head parsing, body framing and the
 * chunked-body validator. See proxy/http_head.h for the contract.
 *
 * The head parsers re-parse from the start of the buffer on every call (no
 * saved state) and look only at the first min(len, max_bytes) bytes, the
 * "window". Every byte in the window is validated before the window's end
 * is considered, so:
 *   - a malformed byte inside the window is HTTP_HEAD_BAD even when the head
 *     is also too big (BAD wins over TOO_BIG);
 *   - a byte beyond the window is never looked at, not even to tell a bare
 *     CR from CRLF: a CR in the window's last byte is "incomplete";
 *   - an incomplete head is HTTP_HEAD_AGAIN while len < max_bytes and
 *     HTTP_HEAD_TOO_BIG once len >= max_bytes (more bytes cannot help);
 *   - the field that would be number HTTP_FIELDS_MAX + 1 is TOO_BIG as soon
 *     as its first byte is seen; bytes after it are not examined.
 * The result is therefore a function of the window alone, and a longer
 * buffer never turns DONE, BAD or TOO_BIG into something else (the fuzz
 * target checks this). */
#include "config.h"
#include "proxy/http_head.h"

#include <string.h>

#define HTTP_HEAD_LIT_LEN(s) (sizeof(s) - 1)

/* RFC 9112 2.3: HTTP-name is case-sensitive and we only speak 1.0 and 1.1,
 * so the version is this prefix plus one digit. */
static const char http_head_version_prefix[] = "HTTP/1.";

/* RFC 9110 5.6.1.2 limits nothing; 2^62 leaves headroom for callers that
 * add lengths together in uint64_t. */
#define HTTP_HEAD_CONTENT_LENGTH_MAX ((uint64_t)1 << 62)

/* RFC 9110 7.6.1 hop-by-hop fields, plus Proxy-Connection (a pre-standard
 * Connection that clients still send to proxies) and the two Proxy-Auth*
 * fields, which are between the client and us only. */
static const char *const http_head_hop_by_hop[] = {
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Proxy-Authorization",
    "Proxy-Authenticate",
};

#define HTTP_HEAD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 9110 5.6.2 tchar, as a table: every field name is scanned with it. */
#define HTTP_HEAD_TCHAR(b)                                                     \
    (((b) >= 'a' && (b) <= 'z') || ((b) >= 'A' && (b) <= 'Z') ||               \
     ((b) >= '0' && (b) <= '9') || (b) == '!' || (b) == '#' || (b) == '$' ||   \
     (b) == '%' || (b) == '&' || (b) == '\'' || (b) == '*' || (b) == '+' ||    \
     (b) == '-' || (b) == '.' || (b) == '^' || (b) == '_' || (b) == '`' ||     \
     (b) == '|' || (b) == '~')
#define HTTP_HEAD_TCHAR_4(b)                                                   \
    HTTP_HEAD_TCHAR(b), HTTP_HEAD_TCHAR((b) + 1), HTTP_HEAD_TCHAR((b) + 2),    \
        HTTP_HEAD_TCHAR((b) + 3)
#define HTTP_HEAD_TCHAR_16(b)                                                  \
    HTTP_HEAD_TCHAR_4(b), HTTP_HEAD_TCHAR_4((b) + 4),                          \
        HTTP_HEAD_TCHAR_4((b) + 8), HTTP_HEAD_TCHAR_4((b) + 12)
#define HTTP_HEAD_TCHAR_64(b)                                                  \
    HTTP_HEAD_TCHAR_16(b), HTTP_HEAD_TCHAR_16((b) + 16),                       \
        HTTP_HEAD_TCHAR_16((b) + 32), HTTP_HEAD_TCHAR_16((b) + 48)
static const bool http_head_tchar[256] = { HTTP_HEAD_TCHAR_64(0),
                                           HTTP_HEAD_TCHAR_64(64),
                                           HTTP_HEAD_TCHAR_64(128),
                                           HTTP_HEAD_TCHAR_64(192) };

static bool
http_head_is_tchar(unsigned char c)
{
    return http_head_tchar[c];
}

/* RFC 9110 5.5: field-value bytes are VCHAR, obs-text, SP and HTAB; the
 * reason phrase (RFC 9112 4) has the same alphabet. DEL and the other
 * controls are refused. */
static bool
http_head_is_value_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static bool
http_head_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char
http_head_lower(unsigned char c)
{
    /* ASCII only: tolower() would depend on the locale. */
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool
http_head_slice_eq_nocase(const char *p, size_t len, const char *lit)
{
    return http_eq_nocase(p, len, lit, strlen(lit));
}

bool
http_eq_nocase(const char *p, size_t len, const char *lit, size_t n)
{
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (http_head_lower((unsigned char)p[i]) !=
            http_head_lower((unsigned char)lit[i]))
            return false;
    }
    return true;
}

static bool
http_head_slice_eq_slice(struct slice a, struct slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (http_head_lower((unsigned char)a.p[i]) !=
            http_head_lower((unsigned char)b.p[i]))
            return false;
    }
    return true;
}

/* ---- head parsing ---- */

/* Position in the window. p[0..end) may be read, nothing else. */
struct http_head_cursor {
    const unsigned char *p;
    size_t pos;
    size_t end;
    const char *why; /* set with every HTTP_HEAD_BAD and _TOO_BIG */
};

/* Internally HTTP_HEAD_AGAIN means "the window ended first"; the public
 * functions turn it into TOO_BIG when the window is all we may ever see. */
static enum http_head_result
http_head_bad(struct http_head_cursor *c, const char *why)
{
    c->why = why;
    return HTTP_HEAD_BAD;
}

/* Consumes a line ending at the cursor: LF or CRLF (RFC 9112 2.2 lets a
 * recipient accept a lone LF). A CR followed by anything else is BAD. */
static enum http_head_result
http_head_eol(struct http_head_cursor *c)
{
    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    if (c->p[c->pos] == '\n') {
        c->pos++;
        return HTTP_HEAD_DONE;
    }
    if (c->p[c->pos] != '\r')
        return http_head_bad(c, "expected end of line");
    if (c->pos + 1 >= c->end)
        return HTTP_HEAD_AGAIN;
    if (c->p[c->pos + 1] != '\n')
        return http_head_bad(c, "bare CR");
    c->pos += 2;
    return HTTP_HEAD_DONE;
}

static bool
http_head_at_eol(const struct http_head_cursor *c)
{
    return c->p[c->pos] == '\r' || c->p[c->pos] == '\n';
}

/* "HTTP/1.0" or "HTTP/1.1", byte by byte so that a wrong prefix is BAD
 * before the whole version has arrived. */
static enum http_head_result
http_head_version(struct http_head_cursor *c, int *minor)
{
    for (size_t i = 0; i < HTTP_HEAD_LIT_LEN(http_head_version_prefix); i++) {
        if (c->pos >= c->end)
            return HTTP_HEAD_AGAIN;
        if (c->p[c->pos] != (unsigned char)http_head_version_prefix[i])
            return http_head_bad(c, "unsupported HTTP version");
        c->pos++;
    }
    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    if (c->p[c->pos] != '0' && c->p[c->pos] != '1')
        return http_head_bad(c, "unsupported HTTP version");
    *minor = c->p[c->pos] - '0';
    c->pos++;
    return HTTP_HEAD_DONE;
}

/* Skips the empty lines RFC 9112 2.2 lets a server ignore before a request
 * line. They stay inside the window, so they are bounded by max_bytes. */
static enum http_head_result
http_head_skip_empty_lines(struct http_head_cursor *c)
{
    enum http_head_result r;

    while (c->pos < c->end && http_head_at_eol(c)) {
        r = http_head_eol(c);
        if (r != HTTP_HEAD_DONE)
            return r;
    }
    return c->pos < c->end ? HTTP_HEAD_DONE : HTTP_HEAD_AGAIN;
}

static enum http_head_result
http_head_request_line(struct http_head_cursor *c, struct http_request *req)
{
    enum http_head_result r;
    size_t start;

    r = http_head_skip_empty_lines(c);
    if (r != HTTP_HEAD_DONE)
        return r;

    start = c->pos;
    while (c->pos < c->end && http_head_is_tchar(c->p[c->pos]))
        c->pos++;
    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    if (c->pos == start || c->p[c->pos] != ' ')
        return http_head_bad(c, "method is not a token");
    req->method.p = (const char *)c->p + start;
    req->method.len = c->pos - start;
    c->pos++;

    start = c->pos;
    while (c->pos < c->end && c->p[c->pos] >= 0x21 && c->p[c->pos] <= 0x7e)
        c->pos++;
    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    if (c->pos == start)
        return http_head_bad(c, "empty request target");
    if (c->p[c->pos] != ' ')
        return http_head_bad(c, "request target is not visible ASCII");
    req->target.p = (const char *)c->p + start;
    req->target.len = c->pos - start;
    c->pos++;

    r = http_head_version(c, &req->version_minor);
    if (r != HTTP_HEAD_DONE)
        return r;
    if (c->pos < c->end && !http_head_at_eol(c))
        return http_head_bad(c, "unsupported HTTP version");
    return http_head_eol(c);
}

static enum http_head_result
http_head_status_line(struct http_head_cursor *c, struct http_response *resp)
{
    enum http_head_result r;
    size_t start;
    int status = 0;

    r = http_head_version(c, &resp->version_minor);
    if (r != HTTP_HEAD_DONE)
        return r;
    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    if (c->p[c->pos] != ' ')
        return http_head_bad(c, "unsupported HTTP version");
    c->pos++;

    /* RFC 9112 4: 3DIGIT; the first digit is the class, 1 to 9 here. */
    for (int i = 0; i < 3; i++) {
        unsigned char d;

        if (c->pos >= c->end)
            return HTTP_HEAD_AGAIN;
        d = c->p[c->pos];
        if (d < (i == 0 ? '1' : '0') || d > '9')
            return http_head_bad(c, "bad status code");
        status = status * 10 + (d - '0');
        c->pos++;
    }
    resp->status = status;

    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    /* RFC 9112 4 wants SP before an empty reason too, but servers that
     * omit it are common and the line is unambiguous either way. */
    start = c->pos;
    if (c->p[c->pos] == ' ') {
        c->pos++;
        start = c->pos;
        while (c->pos < c->end && http_head_is_value_byte(c->p[c->pos]))
            c->pos++;
        if (c->pos >= c->end)
            return HTTP_HEAD_AGAIN;
    }
    if (!http_head_at_eol(c))
        return http_head_bad(c, "bad byte in status line");
    resp->reason.p = (const char *)c->p + start;
    resp->reason.len = c->pos - start;
    return http_head_eol(c);
}

/* One "name: value" line, the cursor at its first byte (not CR or LF). */
static enum http_head_result
http_head_field(struct http_head_cursor *c, struct http_field *f)
{
    size_t start, vend;
    unsigned char b;

    b = c->p[c->pos];
    if (http_head_is_ows(b))
        return http_head_bad(c, "obs-fold or whitespace before field");
    start = c->pos;
    while (c->pos < c->end && http_head_is_tchar(c->p[c->pos]))
        c->pos++;
    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    b = c->p[c->pos];
    if (b != ':') {
        /* RFC 9112 5.1: whitespace before the colon is how "Transfer-Encoding
         * : chunked" gets past one parser and not the next. */
        if (http_head_is_ows(b))
            return http_head_bad(c, "whitespace before colon");
        return http_head_bad(c, "field name is not a token");
    }
    if (c->pos == start)
        return http_head_bad(c, "empty field name");
    f->name.p = (const char *)c->p + start;
    f->name.len = c->pos - start;
    c->pos++;

    while (c->pos < c->end && http_head_is_ows(c->p[c->pos]))
        c->pos++;
    start = c->pos;
    vend = start; /* one past the last non-OWS byte */
    while (c->pos < c->end && http_head_is_value_byte(c->p[c->pos])) {
        if (!http_head_is_ows(c->p[c->pos]))
            vend = c->pos + 1;
        c->pos++;
    }
    if (c->pos >= c->end)
        return HTTP_HEAD_AGAIN;
    if (!http_head_at_eol(c))
        return http_head_bad(c, "control byte in field value");
    f->value.p = (const char *)c->p + start;
    f->value.len = vend - start;
    return http_head_eol(c);
}

/* Field lines up to and including the empty line that ends the head. */
static enum http_head_result
http_head_fields(struct http_head_cursor *c, struct http_field *fields,
                 size_t *n_fields)
{
    enum http_head_result r;

    *n_fields = 0;
    for (;;) {
        if (c->pos >= c->end)
            return HTTP_HEAD_AGAIN;
        if (http_head_at_eol(c))
            return http_head_eol(c);
        if (*n_fields == HTTP_FIELDS_MAX) {
            c->why = "too many header fields";
            return HTTP_HEAD_TOO_BIG;
        }
        r = http_head_field(c, &fields[*n_fields]);
        if (r != HTTP_HEAD_DONE)
            return r;
        (*n_fields)++;
    }
}

static enum http_head_result
http_head_finish(enum http_head_result r, const struct http_head_cursor *c,
                 size_t len, size_t max_bytes, size_t *head_len,
                 const char **why)
{
    const char *reason = c->why;

    if (r == HTTP_HEAD_AGAIN && len >= max_bytes) {
        r = HTTP_HEAD_TOO_BIG;
        reason = "head larger than max_bytes";
    }
    if (r == HTTP_HEAD_DONE)
        *head_len = c->pos;
    if (why != NULL && reason != NULL &&
        (r == HTTP_HEAD_BAD || r == HTTP_HEAD_TOO_BIG))
        *why = reason;
    return r;
}

enum http_head_result
http_request_parse(const char *buf, size_t len, size_t max_bytes,
                   struct http_request *req, const char **why)
{
    struct http_head_cursor c = { (const unsigned char *)buf, 0,
                                  len < max_bytes ? len : max_bytes, NULL };
    enum http_head_result r;

    req->n_fields = 0;
    req->head_len = 0;
    r = http_head_request_line(&c, req);
    if (r == HTTP_HEAD_DONE)
        r = http_head_fields(&c, req->fields, &req->n_fields);
    return http_head_finish(r, &c, len, max_bytes, &req->head_len, why);
}

enum http_head_result
http_response_parse(const char *buf, size_t len, size_t max_bytes,
                    struct http_response *resp, const char **why)
{
    struct http_head_cursor c = { (const unsigned char *)buf, 0,
                                  len < max_bytes ? len : max_bytes, NULL };
    enum http_head_result r;

    resp->n_fields = 0;
    resp->head_len = 0;
    r = http_head_status_line(&c, resp);
    if (r == HTTP_HEAD_DONE)
        r = http_head_fields(&c, resp->fields, &resp->n_fields);
    return http_head_finish(r, &c, len, max_bytes, &resp->head_len, why);
}

/* ---- framing ---- */

/* Walks a comma-separated field value (RFC 9110 5.6.1). Each element comes
 * back with OWS trimmed; empty elements are returned too, so that callers
 * can refuse "5," where a list of one value is expected. Index-based so an
 * empty slice with p == NULL is safe. */
struct http_head_list {
    struct slice v;
    size_t pos;
    bool done;
};

static bool
http_head_list_next(struct http_head_list *it, struct slice *elem)
{
    size_t start, end;

    if (it->done)
        return false;
    start = it->pos;
    end = start;
    while (end < it->v.len && it->v.p[end] != ',')
        end++;
    if (end < it->v.len)
        it->pos = end + 1;
    else
        it->done = true;
    while (start < end && http_head_is_ows((unsigned char)it->v.p[start]))
        start++;
    while (end > start && http_head_is_ows((unsigned char)it->v.p[end - 1]))
        end--;
    elem->p = it->v.p == NULL ? NULL : it->v.p + start;
    elem->len = end - start;
    return true;
}

/* What the fields say about the body, gathered before deciding. */
struct http_head_body {
    bool has_length;
    uint64_t length;
    bool chunked; /* one Transfer-Encoding: chunked */
    bool conn_close;
    bool conn_keep_alive;
};

/* 1*DIGIT, at most HTTP_HEAD_CONTENT_LENGTH_MAX. */
static bool
http_head_parse_length(struct slice s, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char d = (unsigned char)s.p[i];

        if (d < '0' || d > '9')
            return false;
        if (v > (HTTP_HEAD_CONTENT_LENGTH_MAX - (d - '0')) / 10)
            return false;
        v = v * 10 + (d - '0');
    }
    *out = v;
    return true;
}

/* RFC 9112 6.3 item 5: repeated Content-Length fields, or one holding a
 * list, are acceptable only when every member is the same number. */
static enum http_head_result
http_head_content_length(struct slice value, struct http_head_body *b,
                         const char **why)
{
    struct http_head_list it = { value, 0, false };
    struct slice elem;
    uint64_t v;

    while (http_head_list_next(&it, &elem)) {
        if (!http_head_parse_length(elem, &v)) {
            *why = "bad Content-Length";
            return HTTP_HEAD_BAD;
        }
        if (b->has_length && b->length != v) {
            *why = "differing Content-Length values";
            return HTTP_HEAD_BAD;
        }
        b->has_length = true;
        b->length = v;
    }
    return HTTP_HEAD_DONE;
}

static void
http_head_connection(struct slice value, struct http_head_body *b)
{
    struct http_head_list it = { value, 0, false };
    struct slice elem;

    while (http_head_list_next(&it, &elem)) {
        if (http_head_slice_eq_nocase(elem.p, elem.len, "close"))
            b->conn_close = true;
        else if (http_head_slice_eq_nocase(elem.p, elem.len, "keep-alive"))
            b->conn_keep_alive = true;
    }
}

/* Validation shared by requests and responses. Every way two parsers could
 * disagree on where the body ends is refused, not repaired. */
static enum http_head_result
http_head_scan_body(const struct http_field *fields, size_t n,
                    int version_minor, struct http_head_body *b,
                    const char **why)
{
    enum http_head_result r;
    size_t n_te = 0;

    memset(b, 0, sizeof(*b));
    for (size_t i = 0; i < n; i++) {
        const struct http_field *f = &fields[i];

        if (http_name_is(f->name, "Content-Length")) {
            r = http_head_content_length(f->value, b, why);
            if (r != HTTP_HEAD_DONE)
                return r;
        } else if (http_name_is(f->name, "Transfer-Encoding")) {
            /* Only exactly one "chunked": a list or a second field is how
             * "gzip, chunked" vs "chunked" desyncs start. */
            if (++n_te > 1) {
                *why = "repeated Transfer-Encoding";
                return HTTP_HEAD_BAD;
            }
            if (!http_head_slice_eq_nocase(f->value.p, f->value.len,
                                           "chunked")) {
                *why = "Transfer-Encoding other than chunked";
                return HTTP_HEAD_BAD;
            }
            b->chunked = true;
        } else if (http_name_is(f->name, "Connection")) {
            http_head_connection(f->value, b);
        }
    }
    if (b->chunked && b->has_length) {
        *why = "both Content-Length and Transfer-Encoding";
        return HTTP_HEAD_BAD;
    }
    /* RFC 9112 6.1: a 1.0 peer cannot mean chunked; treat it as faulty. */
    if (b->chunked && version_minor == 0) {
        *why = "Transfer-Encoding in HTTP/1.0";
        return HTTP_HEAD_BAD;
    }
    return HTTP_HEAD_DONE;
}

static bool
http_head_wants_close(const struct http_head_body *b, int version_minor)
{
    if (b->conn_close)
        return true;
    return version_minor == 0 && !b->conn_keep_alive;
}

enum http_head_result
http_request_framing(const struct http_request *req, struct http_framing *f,
                     const char **why)
{
    struct http_head_body b;
    const char *reason = NULL;
    enum http_head_result r;

    r = http_head_scan_body(req->fields, req->n_fields, req->version_minor, &b,
                            &reason);
    if (r != HTTP_HEAD_DONE) {
        if (why != NULL)
            *why = reason;
        return r;
    }
    f->length = 0;
    if (b.chunked) {
        f->kind = HTTP_BODY_CHUNKED;
    } else if (b.has_length) {
        f->kind = HTTP_BODY_LENGTH;
        f->length = b.length;
    } else {
        f->kind = HTTP_BODY_NONE;
    }
    f->close = http_head_wants_close(&b, req->version_minor);
    return HTTP_HEAD_DONE;
}

enum http_head_result
http_response_framing(const struct http_response *resp, struct slice method,
                      struct http_framing *f, const char **why)
{
    struct http_head_body b;
    const char *reason = NULL;
    enum http_head_result r;
    bool bodiless;

    /* Validate even bodiless responses: the head is relayed to a client
     * that may not know the rules as well as we do. */
    r = http_head_scan_body(resp->fields, resp->n_fields, resp->version_minor,
                            &b, &reason);
    if (r != HTTP_HEAD_DONE) {
        if (why != NULL)
            *why = reason;
        return r;
    }
    /* Methods are case-sensitive (RFC 9110 9.1): "head" is not HEAD. */
    bodiless = (resp->status >= 100 && resp->status <= 199) ||
               resp->status == 204 || resp->status == 304 ||
               (method.len == HTTP_HEAD_LIT_LEN("HEAD") &&
                memcmp(method.p, "HEAD", HTTP_HEAD_LIT_LEN("HEAD")) == 0);
    f->length = 0;
    f->close = http_head_wants_close(&b, resp->version_minor);
    if (bodiless) {
        f->kind = HTTP_BODY_NONE;
    } else if (b.chunked) {
        f->kind = HTTP_BODY_CHUNKED;
    } else if (b.has_length) {
        f->kind = HTTP_BODY_LENGTH;
        f->length = b.length;
    } else {
        /* The body ends when the server closes, so nothing can follow. */
        f->kind = HTTP_BODY_CLOSE;
        f->close = true;
    }
    return HTTP_HEAD_DONE;
}

static bool
http_head_fixed_hop(struct slice name)
{
    for (size_t k = 0; k < HTTP_HEAD_ARRAY_LEN(http_head_hop_by_hop); k++) {
        if (http_name_is(name, http_head_hop_by_hop[k]))
            return true;
    }
    return false;
}

/* Walks the non-empty elements of every Connection field of <fields>;
 * start with *i = 0 and it->done = true. */
static bool
http_head_connection_next(const struct http_field *fields, size_t n, size_t *i,
                          struct http_head_list *it, struct slice *elem)
{
    for (;;) {
        while (!it->done) {
            if (http_head_list_next(it, elem) && elem->len > 0)
                return true;
        }
        while (*i < n && !http_name_is(fields[*i].name, "Connection"))
            (*i)++;
        if (*i == n)
            return false;
        *it = (struct http_head_list){ fields[*i].value, 0, false };
        (*i)++;
    }
}

bool
http_field_is_hop_by_hop(const struct http_field *fields, size_t n,
                         struct slice name)
{
    struct http_head_list it = { { NULL, 0 }, 0, true };
    struct slice elem;
    size_t i = 0;

    if (http_head_fixed_hop(name))
        return true;
    while (http_head_connection_next(fields, n, &i, &it, &elem)) {
        if (http_head_slice_eq_slice(elem, name))
            return true;
    }
    return false;
}

void
http_fields_hop_by_hop(const struct http_field *fields, size_t n, bool drop[])
{
    struct http_head_list it = { { NULL, 0 }, 0, true };
    struct slice elem;
    size_t i = 0;

    for (size_t j = 0; j < n; j++)
        drop[j] = http_head_fixed_hop(fields[j].name);
    while (http_head_connection_next(fields, n, &i, &it, &elem)) {
        for (size_t j = 0; j < n; j++) {
            if (!drop[j] && http_head_slice_eq_slice(elem, fields[j].name))
                drop[j] = true;
        }
    }
}

/* ---- chunked bodies ---- */

void
chunked_init(struct chunked *ck)
{
    memset(ck, 0, sizeof(*ck));
    ck->state = CHUNKED_SIZE;
}

static int
chunked_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The body is relayed as is, so every line ending must be CRLF: a bare LF
 * that we took as the end of a chunk-size or trailer line could be read as
 * part of an extension by the next hop, and then the two of us would
 * disagree on where the body ends ("funky chunks" desyncs).
 *
 * The enum has no state for "CR inside a trailer field line", so the
 * trailer states reuse two fields that are idle once the last chunk is
 * seen: size_digits != 0 means the current trailer line is not empty, and
 * remaining != 0 means its colon was seen (we are in the value). */
enum chunked_result
chunked_feed(struct chunked *ck, const char *p, size_t len, size_t *used,
             const char **why)
{
    const char *reason = NULL;
    size_t i = 0;

    if (ck->state == CHUNKED_DONE) {
        if (used != NULL)
            *used = 0;
        return CHUNKED_END;
    }
    if (ck->state == CHUNKED_ERROR) {
        reason = "chunked body already failed";
        goto bad;
    }
    while (i < len) {
        unsigned char c = (unsigned char)p[i];
        int d;

        switch (ck->state) {
        case CHUNKED_SIZE:
            d = chunked_hex_value(c);
            if (d >= 0) {
                if (ck->size_digits == 16) {
                    reason = "chunk size has too many digits";
                    goto bad;
                }
                ck->size_digits++;
                ck->remaining = ck->remaining * 16 + (uint64_t)d;
                if (ck->remaining > CHUNKED_SIZE_MAX) {
                    reason = "chunk size too large";
                    goto bad;
                }
            } else if (ck->size_digits == 0) {
                reason = "chunk size is not hex";
                goto bad;
            } else if (c == ';') {
                if (++ck->meta_bytes > CHUNKED_META_MAX) {
                    reason = "chunk extensions too long";
                    goto bad;
                }
                ck->state = CHUNKED_SIZE_EXT;
            } else if (c == '\r') {
                ck->state = CHUNKED_SIZE_LF;
            } else if (c == '\n') {
                reason = "chunk size line not ended by CRLF";
                goto bad;
            } else {
                /* Also SP/HT: RFC 9112 allows BWS before ';', we do not. */
                reason = "bad byte after chunk size";
                goto bad;
            }
            i++;
            break;

        case CHUNKED_SIZE_EXT:
            if (c == '\r') {
                ck->state = CHUNKED_SIZE_LF;
            } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
                reason = "control byte in chunk extension";
                goto bad;
            } else if (++ck->meta_bytes > CHUNKED_META_MAX) {
                reason = "chunk extensions too long";
                goto bad;
            }
            i++;
            break;

        case CHUNKED_SIZE_LF:
            if (c != '\n') {
                reason = "chunk size line not ended by CRLF";
                goto bad;
            }
            ck->size_digits = 0;
            if (ck->remaining == 0) {
                ck->last = true;
                ck->state = CHUNKED_TRAILER;
            } else {
                ck->state = CHUNKED_DATA;
            }
            i++;
            break;

        case CHUNKED_DATA: {
            size_t avail = len - i;
            size_t take = ck->remaining < avail ? (size_t)ck->remaining : avail;

            i += take;
            ck->remaining -= take;
            if (ck->remaining == 0)
                ck->state = CHUNKED_DATA_CR;
            break;
        }

        case CHUNKED_DATA_CR:
            if (c != '\r') {
                reason = "chunk data not followed by CRLF";
                goto bad;
            }
            ck->state = CHUNKED_DATA_LF;
            i++;
            break;

        case CHUNKED_DATA_LF:
            if (c != '\n') {
                reason = "chunk data not followed by CRLF";
                goto bad;
            }
            ck->state = CHUNKED_SIZE;
            i++;
            break;

        case CHUNKED_TRAILER:
            if (++ck->meta_bytes > CHUNKED_META_MAX) {
                reason = "trailers too long";
                goto bad;
            }
            if (c == '\r') {
                ck->size_digits = 0;
                ck->state = CHUNKED_TRAILER_LF;
            } else if (http_head_is_tchar(c)) {
                ck->size_digits = 1;
                ck->remaining = 0;
                ck->state = CHUNKED_TRAILER_LINE;
            } else if (c == ':') {
                reason = "empty trailer field name";
                goto bad;
            } else {
                reason = "bad trailer line";
                goto bad;
            }
            i++;
            break;

        case CHUNKED_TRAILER_LINE:
            if (++ck->meta_bytes > CHUNKED_META_MAX) {
                reason = "trailers too long";
                goto bad;
            }
            if (ck->remaining == 0) {
                if (c == ':') {
                    ck->remaining = 1;
                } else if (!http_head_is_tchar(c)) {
                    reason = "bad trailer field name";
                    goto bad;
                }
            } else if (c == '\r') {
                ck->state = CHUNKED_TRAILER_LF;
            } else if (!http_head_is_value_byte(c)) {
                reason = "control byte in trailer field";
                goto bad;
            }
            i++;
            break;

        case CHUNKED_TRAILER_LF:
            if (++ck->meta_bytes > CHUNKED_META_MAX) {
                reason = "trailers too long";
                goto bad;
            }
            if (c != '\n') {
                reason = "trailer line not ended by CRLF";
                goto bad;
            }
            i++;
            if (ck->size_digits == 0) {
                ck->state = CHUNKED_DONE;
                ck->remaining = 0;
                if (used != NULL)
                    *used = i;
                return CHUNKED_END;
            }
            ck->size_digits = 0;
            ck->remaining = 0;
            ck->state = CHUNKED_TRAILER;
            break;

        case CHUNKED_DONE:
        case CHUNKED_ERROR:
            /* Both return before the loop; reaching here is a bug. */
            reason = "chunked state machine broken";
            goto bad;
        }
    }
    if (used != NULL)
        *used = len;
    return CHUNKED_MORE;

bad:
    ck->state = CHUNKED_ERROR;
    if (used != NULL)
        *used = i;
    if (why != NULL)
        *why = reason;
    return CHUNKED_BAD;
}
