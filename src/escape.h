/*
 * Escaping at the writer boundary: the one place that decides how a string that came from outside
 * (a results database, a spec, a model's config, a child's output) is written into each kind of
 * output, so that nothing stored can become markup, break a table or drive the terminal.
 *
 *   JP_ESC_HTML  text and attribute values: & < > " ' as entities; C0 controls (but tab and newline)
 *                and DEL as a space.
 *   JP_ESC_MD    a Markdown table cell or inline text: | \ ` * _ [ ] # behind a backslash, < > & as
 *                entities, newlines and every other control character as a space.
 *   JP_ESC_CSV   an RFC 4180 field: quoted when it holds , " CR LF or starts or ends with a space;
 *                a field starting with = + - @ (a spreadsheet formula) gets a leading ' and quotes;
 *                control characters but tab, CR and LF written as the terminal escapes below.
 *   JP_ESC_TERM  text for a terminal: every C0 control, DEL, C1 control (U+0080-U+009F), the bidi
 *                overrides and isolates (U+202A-U+202E, U+2066-U+2069), U+2028/U+2029 and every byte
 *                that is not valid UTF-8 written as a visible escape (\n, \t, \r, \x1b, \u202e,
 *                \xff); everything else as it is.
 *   JP_ESC_LINE  only CR and LF, as a space: for a string set into text whose lines are split later
 *                (the conclusions), and which a writer then escapes for its format.
 *
 * jp_escf is fprintf whose every %s argument is escaped for the kind (width and precision then
 * apply to the escaped text); writers format stored strings only through it or jp_esc.
 * Helper set (compiled into every library, hidden), like util.c.
 */
#ifndef JP_ESCAPE_H
#define JP_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

#include "util.h"

enum jp_esc_kind { JP_ESC_HTML, JP_ESC_MD, JP_ESC_CSV, JP_ESC_TERM, JP_ESC_LINE };

/* Writes s escaped for kind (a NULL s as ""). */
void jp_esc(FILE *out, enum jp_esc_kind kind, const char *s);
/* s escaped for kind into buf (always terminated, cut at a whole escape); the length it needed. */
size_t jp_esc_str(char *buf, size_t len, enum jp_esc_kind kind, const char *s);
/* fprintf with every %s argument escaped for kind; %n is not supported. Returns what fprintf
 * would (the bytes written, negative on an error). */
int jp_escf(FILE *out, enum jp_esc_kind kind, const char *fmt, ...) JP_PRINTF(3, 4);
int jp_vescf(FILE *out, enum jp_esc_kind kind, const char *fmt, va_list ap);
/* The same into buf (always terminated, cut when it does not fit). */
void jp_vescf_str(char *buf, size_t len, enum jp_esc_kind kind, const char *fmt, va_list ap);

#endif
