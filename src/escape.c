/* Escaping at the writer boundary (escape.h says what each kind does). */
#define _POSIX_C_SOURCE 200809L
#include "escape.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Where escaped text goes: a stream, or a buffer (cut at a whole piece, `need` counting all). */
struct sink {
    FILE *f;
    char *buf;
    size_t len, at, need;
    bool full;
};

static void put(struct sink *k, const char *p, size_t n)
{
    k->need += n;
    if (k->f) {
        fwrite(p, 1, n, k->f);
        return;
    }
    if (k->full || !k->buf || k->at + n + 1 > k->len) {
        k->full = true;
        return;
    }
    memcpy(k->buf + k->at, p, n);
    k->at += n;
    k->buf[k->at] = '\0';
}

static void puts_(struct sink *k, const char *s) { put(k, s, strlen(s)); }

static void put_hex(struct sink *k, unsigned char c)
{
    char e[8];
    snprintf(e, sizeof e, "\\x%02x", c);
    put(k, e, 4);
}

/* The code point of the UTF-8 sequence at p (*n its length), or -1 when it is not valid UTF-8
 * (a stray or truncated byte, an overlong form, a surrogate, beyond U+10FFFF). */
static long utf8_at(const unsigned char *p, size_t *n)
{
    unsigned char c = p[0];
    long cp;
    size_t len;
    if (c < 0x80) {
        *n = 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return -1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return -1; /* also stops at the terminating NUL */
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *n = len;
    return cp;
}

/* Code points that move the cursor, reorder text or end a line on a terminal. */
static bool term_control(long cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

static void esc_term(struct sink *k, const unsigned char *p)
{
    while (*p) {
        size_t n = 1;
        long cp = utf8_at(p, &n);
        if (cp < 0) {
            put_hex(k, *p);
            p++;
            continue;
        }
        if (!term_control(cp)) {
            put(k, (const char *)p, n);
        } else if (cp == '\n') {
            puts_(k, "\\n");
        } else if (cp == '\t') {
            puts_(k, "\\t");
        } else if (cp == '\r') {
            puts_(k, "\\r");
        } else if (cp < 0x80) {
            put_hex(k, (unsigned char)cp);
        } else {
            char e[24];
            snprintf(e, sizeof e, "\\u%04x", (unsigned)cp & 0xffffu); /* C1, U+2028-U+2069: four digits */
            puts_(k, e);
        }
        p += n;
    }
}

static void esc_html(struct sink *k, const unsigned char *p)
{
    for (; *p; p++) {
        switch (*p) {
        case '&': puts_(k, "&amp;"); break;
        case '<': puts_(k, "&lt;"); break;
        case '>': puts_(k, "&gt;"); break;
        case '"': puts_(k, "&quot;"); break;
        case '\'': puts_(k, "&#39;"); break;
        default:
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) puts_(k, " ");
            else put(k, (const char *)p, 1);
        }
    }
}

static void esc_md(struct sink *k, const unsigned char *p)
{
    for (; *p; p++) {
        switch (*p) {
        case '<': puts_(k, "&lt;"); break;
        case '>': puts_(k, "&gt;"); break;
        case '&': puts_(k, "&amp;"); break;
        case '|':
        case '\\':
        case '`':
        case '*':
        case '_':
        case '[':
        case ']':
        case '#': {
            char e[2] = {'\\', (char)*p};
            put(k, e, 2);
            break;
        }
        default:
            if (*p < 0x20 || *p == 0x7f) puts_(k, " "); /* newlines too: a cell is one line */
            else put(k, (const char *)p, 1);
        }
    }
}

static void esc_csv(struct sink *k, const unsigned char *s)
{
    size_t n = strlen((const char *)s);
    bool formula = *s && strchr("=+-@\t\r", *s);
    bool quote = formula || strpbrk((const char *)s, ",\"\r\n") || (n && (s[0] == ' ' || s[n - 1] == ' '));
    if (quote) puts_(k, "\"");
    if (formula) puts_(k, "'");
    for (const unsigned char *p = s; *p; p++) {
        if (*p == '"') puts_(k, "\"\"");
        else if ((*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') || *p == 0x7f) put_hex(k, *p);
        else put(k, (const char *)p, 1);
    }
    if (quote) puts_(k, "\"");
}

static void esc_line(struct sink *k, const unsigned char *p)
{
    for (; *p; p++) put(k, *p == '\n' || *p == '\r' ? " " : (const char *)p, 1);
}

static void esc_any(struct sink *k, enum jp_esc_kind kind, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    switch (kind) {
    case JP_ESC_HTML: esc_html(k, p); break;
    case JP_ESC_MD: esc_md(k, p); break;
    case JP_ESC_CSV: esc_csv(k, p); break;
    case JP_ESC_TERM: esc_term(k, p); break;
    case JP_ESC_LINE: esc_line(k, p); break;
    }
}

void jp_esc(FILE *out, enum jp_esc_kind kind, const char *s)
{
    struct sink k = {.f = out};
    esc_any(&k, kind, s);
}

size_t jp_esc_str(char *buf, size_t len, enum jp_esc_kind kind, const char *s)
{
    struct sink k = {.buf = buf, .len = len};
    if (buf && len) buf[0] = '\0';
    esc_any(&k, kind, s);
    return k.need;
}

/* The format of each conversion is made here from the caller's, which the compiler checked. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
/* One conversion of fmt at *pp (just after its '%'), written to out with its argument. */
static int one_conversion(FILE *out, enum jp_esc_kind kind, const char **pp, va_list *ap)
{
    const char *p = *pp;
    char spec[64] = "%";
    size_t at = 1;
#define ADD(c)                                       \
    do {                                             \
        if (at + 2 < sizeof spec) spec[at++] = (c); \
    } while (0)
    while (*p && strchr("-+ #0", *p)) ADD(*p++);
    int width = 0, prec = -1;
    bool star_w = false, star_p = false;
    if (*p == '*') {
        star_w = true;
        width = va_arg(*ap, int);
        ADD('*');
        p++;
    } else {
        while (*p >= '0' && *p <= '9') ADD(*p++);
    }
    if (*p == '.') {
        ADD(*p++);
        if (*p == '*') {
            star_p = true;
            prec = va_arg(*ap, int);
            ADD('*');
            p++;
        } else {
            while (*p >= '0' && *p <= '9') ADD(*p++);
        }
    }
    char lenmod[3] = "";
    if ((p[0] == 'h' && p[1] == 'h') || (p[0] == 'l' && p[1] == 'l')) {
        lenmod[0] = p[0];
        lenmod[1] = p[1];
        ADD(*p++);
        ADD(*p++);
    } else if (*p && strchr("hlzjtL", *p)) {
        lenmod[0] = *p;
        ADD(*p++);
    }
    char conv = *p;
    if (!conv) {
        *pp = p;
        return 0;
    }
    ADD(*p++);
    spec[at] = '\0';
    *pp = p;
#undef ADD
#define EMIT(v)                                                                                           \
    (star_w && star_p ? fprintf(out, spec, width, prec, v)                                                \
     : star_w         ? fprintf(out, spec, width, v)                                                      \
     : star_p         ? fprintf(out, spec, prec, v)                                                       \
                      : fprintf(out, spec, v))
    switch (conv) {
    case 's': {
        const char *s = va_arg(*ap, const char *);
        size_t need = jp_esc_str(NULL, 0, kind, s);
        char *e = malloc(need + 1);
        if (!e) return -1;
        jp_esc_str(e, need + 1, kind, s);
        int r = EMIT(e);
        free(e);
        return r;
    }
    case 'c': {
        char s[2] = {(char)va_arg(*ap, int), '\0'};
        char e[16];
        jp_esc_str(e, sizeof e, kind, s);
        spec[at - 1] = 's';
        return EMIT(e);
    }
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        if (!strcmp(lenmod, "l")) return EMIT(va_arg(*ap, long));
        if (!strcmp(lenmod, "ll")) return EMIT(va_arg(*ap, long long));
        if (!strcmp(lenmod, "z")) return EMIT(va_arg(*ap, size_t));
        if (!strcmp(lenmod, "j")) return EMIT(va_arg(*ap, intmax_t));
        if (!strcmp(lenmod, "t")) return EMIT(va_arg(*ap, ptrdiff_t));
        return EMIT(va_arg(*ap, int)); /* hh, h and none are promoted to int */
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        if (!strcmp(lenmod, "L")) return EMIT(va_arg(*ap, long double));
        return EMIT(va_arg(*ap, double));
    case 'p': return EMIT(va_arg(*ap, void *));
    case '%': return fputc('%', out) == EOF ? -1 : 1;
    default: return 0; /* %n and unknown conversions: nothing written, no argument taken */
    }
#undef EMIT
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

int jp_vescf(FILE *out, enum jp_esc_kind kind, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int total = 0;
    for (const char *p = fmt; *p;) {
        const char *pct = strchr(p, '%');
        size_t n = pct ? (size_t)(pct - p) : strlen(p);
        if (n) {
            if (fwrite(p, 1, n, out) != n) {
                total = -1;
                break;
            }
            total += (int)n;
        }
        if (!pct) break;
        p = pct + 1;
        int r = one_conversion(out, kind, &p, &aq);
        if (r < 0) {
            total = -1;
            break;
        }
        total += r;
    }
    va_end(aq);
    return total;
}

void jp_vescf_str(char *buf, size_t len, enum jp_esc_kind kind, const char *fmt, va_list ap)
{
    if (!buf || !len) return;
    char *tmp = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&tmp, &n);
    if (f) {
        jp_vescf(f, kind, fmt, ap);
        if (fclose(f) != 0) n = 0;
    }
    if (!tmp) n = 0;
    if (n >= len) n = len - 1;
    if (n) memcpy(buf, tmp, n);
    buf[n] = '\0';
    free(tmp);
}

int jp_escf(FILE *out, enum jp_esc_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = jp_vescf(out, kind, fmt, ap);
    va_end(ap);
    return r;
}
