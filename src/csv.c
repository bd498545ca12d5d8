/* One CSV field reader (see csv.h). */
#include "csv.h"

#include <stddef.h>

static int blank(char c) { return c == ' ' || c == '\t'; }

int jp_csv_split(char *line, char **fields, int max, unsigned flags)
{
    const int trim = (flags & JP_CSV_TRIM) != 0;
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return JP_CSV_TOO_MANY;
        if (trim)
            while (blank(*p)) p++;
        if (*p == '"') {
            char *out = ++p;
            fields[n++] = out;
            for (;;) {
                if (!*p) return JP_CSV_UNTERMINATED;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            if (trim)
                while (blank(*p)) p++;
            if (*p != ',' && *p) return JP_CSV_AFTER_QUOTE;
            *out = '\0';
        } else {
            char *start = p;
            fields[n++] = start;
            while (*p && *p != ',') p++;
            char *e = p;
            if (trim)
                while (e > start && blank(e[-1])) e--;
            if (!*p) {
                *e = '\0';
                break;
            }
            *e = '\0';
            p++;
            continue;
        }
        if (!*p) break;
        *p++ = '\0';
    }
    return n;
}

const char *jp_csv_strerror(int code)
{
    switch (code) {
    case JP_CSV_TOO_MANY: return "too many fields";
    case JP_CSV_UNTERMINATED: return "unterminated quoted field";
    case JP_CSV_AFTER_QUOTE: return "expected ',' after a quoted field";
    default: return "malformed CSV";
    }
}
