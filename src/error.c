/* The error channel every layer reports through (jp_fail, jp_last_error), and the library's version. */
#include "escape.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

/* The message is one line for a terminal: what a %s argument brings (a name from a spec or a store,
 * a child's output, a path) has its control characters written as visible escapes (escape.h). */
int jp_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[sizeof last_error];
    jp_vescf_str(msg, sizeof msg, JP_ESC_TERM, fmt, ap);
    memcpy(last_error, msg, sizeof msg);
    va_end(ap);
    return code;
}

void jp_clear_error(void) { last_error[0] = '\0'; }

const char *jp_last_error(void) { return last_error; }

const char *jp_strerror(int code)
{
    switch (code) {
    case JP_OK: return "success";
    case JP_ERR_INVAL: return "invalid argument";
    case JP_ERR_NOMEM: return "out of memory";
    case JP_ERR_IO: return "input/output error";
    case JP_ERR_PERM: return "permission denied";
    case JP_ERR_PARSE: return "cannot parse value";
    case JP_ERR_NOSOURCE: return "no usable energy source";
    case JP_ERR_STATE: return "call out of order";
    case JP_ERR_NOTFOUND: return "not found";
    case JP_ERR_RANGE: return "value out of range";
    case JP_ERR_SPAWN: return "cannot start command";
    case JP_ERR_THREAD: return "cannot start sampling thread";
    default: return "unknown error";
    }
}

int jp_abi_version(void) { return JP_ABI_VERSION; }

const char *jp_version(void) { return JP_VERSION; }
