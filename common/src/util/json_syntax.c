/* JSON syntax errors with what was expected (see json_syntax.h). */
#include "lattice/json_syntax.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    size_t depth;
    char stack[LX_JSON_SYNTAX_MAX_DEPTH]; /* '{' or '[' per open container */
    lx_json_syntax_t *out;
} scan_t;

/* Inside the document cJSON skips every byte up to ' ' as whitespace. */
static void s_ws(scan_t *sc)
{
    while (sc->pos < sc->len && sc->s[sc->pos] <= ' ')
        sc->pos++;
}

static bool s_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool s_digit(scan_t *sc)
{
    return sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9';
}

/* What the text holds at pos, for "found ...". */
static void s_found(const scan_t *sc, size_t pos, char *buf, size_t n)
{
    if (pos >= sc->len) {
        snprintf(buf, n, "the end of the input");
        return;
    }
    unsigned char c = sc->s[pos];
    if (c == '\'') {
        snprintf(buf, n, "a single quote (JSON strings use double quotes)");
    } else if (s_word_char(c)) {
        size_t k = 0;
        while (pos + k < sc->len && k < 24 && s_word_char(sc->s[pos + k]))
            k++;
        snprintf(buf, n, "'%.*s'", (int)k, (const char *)sc->s + pos);
    } else if (c > ' ' && c < 0x7f) {
        snprintf(buf, n, "'%c'", c);
    } else {
        snprintf(buf, n, "byte 0x%02X", c);
    }
}

static bool s_fail(scan_t *sc, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static bool s_fail(scan_t *sc, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->out->message, sizeof sc->out->message, fmt, ap);
    va_end(ap);
    sc->out->offset = at;
    return false;
}

/* "expected WANT, found X" at pos; note is appended when not NULL. */
static bool s_expected(scan_t *sc, const char *want, const char *note)
{
    char found[80];
    s_found(sc, sc->pos, found, sizeof found);
    return s_fail(sc, sc->pos, "expected %s, found %s%s", want, found, note ? note : "");
}

/* cJSON's reading of 4 hex digits: 0 when one is not hex. */
static int s_hex4(const scan_t *sc, size_t at)
{
    int v = 0;
    for (size_t k = 0; k < 4; k++) {
        unsigned char c = sc->s[at + k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return 0;
        v = v * 16 + d;
    }
    return v;
}

/* A string at sc->pos (a '"'); false with the problem recorded. As cJSON
 * does: find the closing quote first (a backslash skips the next byte),
 * then check the escapes between. */
static bool s_string(scan_t *sc)
{
    size_t start = sc->pos, end = start + 1;
    while (end < sc->len && sc->s[end] != '"')
        end += sc->s[end] == '\\' ? 2 : 1;
    if (end >= sc->len)
        return s_fail(sc, start, "unterminated string (no closing '\"')");
    for (size_t p = start + 1; p < end;) {
        if (sc->s[p] != '\\') {
            p++; /* raw control characters too, as cJSON takes them */
            continue;
        }
        unsigned char e = sc->s[p + 1];
        if (e && strchr("\"\\/bfnrt", e)) {
            p += 2;
            continue;
        }
        if (e != 'u') {
            if (e > ' ' && e < 0x7f)
                return s_fail(sc, p, "invalid escape '\\%c' in a string", e);
            return s_fail(sc, p, "invalid escape in a string");
        }
        if (end - p < 6)
            return s_fail(sc, p, "expected 4 hex digits after '\\u' in a string");
        int cp = s_hex4(sc, p + 2);
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return s_fail(sc, p, "unpaired UTF-16 surrogate '\\u%04X' in a string", cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            size_t q = p + 6;
            int lo =
                end - q >= 6 && sc->s[q] == '\\' && sc->s[q + 1] == 'u' ? s_hex4(sc, q + 2) : 0;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return s_fail(sc, p, "unpaired UTF-16 surrogate '\\u%04X' in a string", cp);
            p += 6;
        }
        p += 6;
    }
    sc->pos = end + 1;
    return true;
}

/* A number at sc->pos ('-' or a digit). Leading zeros, "1." and "-.5"
 * pass, as cJSON (strtod) takes them. */
static bool s_number(scan_t *sc)
{
    if (sc->s[sc->pos] == '-') {
        sc->pos++;
        /* strtod takes "-.5" */
        bool frac = sc->pos + 1 < sc->len && sc->s[sc->pos] == '.' && sc->s[sc->pos + 1] >= '0' &&
                    sc->s[sc->pos + 1] <= '9';
        if (!s_digit(sc) && !frac)
            return s_expected(sc, "a digit after '-'", NULL);
    }
    while (s_digit(sc))
        sc->pos++;
    if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
        sc->pos++;
        while (s_digit(sc))
            sc->pos++;
    }
    if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
        sc->pos++;
        if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
            sc->pos++;
        if (!s_digit(sc))
            return s_expected(sc, "a digit in the exponent", NULL);
        while (s_digit(sc))
            sc->pos++;
    }
    return true;
}

static bool s_literal(scan_t *sc, const char *want, const char *note)
{
    static const char *const words[] = {"true", "false", "null"};
    size_t k = 0;
    while (sc->pos + k < sc->len && s_word_char(sc->s[sc->pos + k]))
        k++;
    for (size_t i = 0; i < 3; i++)
        if (k == strlen(words[i]) && memcmp(sc->s + sc->pos, words[i], k) == 0) {
            sc->pos += k;
            return true;
        }
    return s_expected(sc, want, note);
}

typedef enum { ST_VALUE, ST_MEMBER, ST_AFTER } state_t;

/* Walks the text; false with the problem recorded, true when it is JSON. */
static bool s_scan(scan_t *sc)
{
    state_t st = ST_VALUE;
    const char *want = "a value", *note = NULL;
    for (;;) {
        if (st != ST_AFTER || sc->depth > 0)
            s_ws(sc);
        if (st == ST_VALUE) {
            if (sc->pos >= sc->len)
                return s_expected(sc, want, NULL);
            unsigned char c = sc->s[sc->pos];
            if (c == '{' || c == '[') {
                if (sc->depth >= LX_JSON_SYNTAX_MAX_DEPTH)
                    return s_fail(sc, sc->pos, "arrays and objects nested deeper than %d levels",
                                  LX_JSON_SYNTAX_MAX_DEPTH);
                sc->stack[sc->depth++] = (char)c;
                sc->pos++;
                s_ws(sc);
                if (sc->pos < sc->len && sc->s[sc->pos] == (c == '{' ? '}' : ']')) {
                    sc->depth--;
                    sc->pos++;
                    st = ST_AFTER;
                } else if (c == '{') {
                    st = ST_MEMBER;
                    want = "a member name in double quotes or '}'";
                    note = NULL;
                } else {
                    want = "a value or ']'";
                    note = NULL;
                }
                continue;
            }
            bool ok = c == '"'                             ? s_string(sc)
                      : c == '-' || (c >= '0' && c <= '9') ? s_number(sc)
                      : s_word_char(c)                     ? s_literal(sc, want, note)
                                                           : s_expected(sc, want, note);
            if (!ok)
                return false;
            st = ST_AFTER;
        } else if (st == ST_MEMBER) {
            if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
                return s_expected(sc, want, note);
            if (!s_string(sc))
                return false;
            s_ws(sc);
            if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                return s_expected(sc, "':' after the member name", NULL);
            sc->pos++;
            st = ST_VALUE;
            want = "a value after ':'";
            note = NULL;
        } else if (sc->depth == 0) {
            /* Only whitespace (and NUL padding) may follow the document. */
            for (; sc->pos < sc->len; sc->pos++) {
                unsigned char c = sc->s[sc->pos];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\0')
                    return s_expected(sc, "the end of the input after the JSON value", NULL);
            }
            return true;
        } else {
            bool object = sc->stack[sc->depth - 1] == '{';
            unsigned char close = object ? '}' : ']';
            unsigned char c = sc->pos < sc->len ? sc->s[sc->pos] : 0;
            if (sc->pos < sc->len && c == close) {
                sc->depth--;
                sc->pos++;
                continue;
            }
            if (sc->pos >= sc->len || c != ',')
                return s_expected(sc,
                                  object ? "',' or '}' after an object member"
                                         : "',' or ']' after an array element",
                                  NULL);
            sc->pos++;
            /* A trailing comma is the likely mistake when the close follows. */
            s_ws(sc);
            note = sc->pos < sc->len && sc->s[sc->pos] == close ? " (JSON has no trailing commas)"
                                                                : NULL;
            st = object ? ST_MEMBER : ST_VALUE;
            want = object ? "a member name in double quotes after ','" : "a value after ','";
        }
    }
}

bool lx_json_syntax_check(const char *text, size_t len, lx_json_syntax_t *out)
{
    lx_json_syntax_t res;
    memset(&res, 0, sizeof res);
    scan_t sc = {
        .s = (const unsigned char *)(text ? text : ""), .len = text ? len : 0, .out = &res};
    if (s_scan(&sc))
        return false;
    lx_json_syntax_locate(text, sc.len, &res);
    *out = res;
    return true;
}

void lx_json_syntax_locate(const char *text, size_t len, lx_json_syntax_t *out)
{
    size_t off = out->offset < len ? out->offset : len;
    out->line = out->column = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            out->line++;
            out->column = 1;
        } else {
            out->column++;
        }
    }
}
