/*
 * One CSV field reader for the project's data files and the user's: the intensity files and series
 * (carbon.c, carbon_series.c), the power profiles (source/model_fit.c) and the build-time table
 * generator (tools/gen_table.c, which compiles this file in too: it depends on nothing but libc).
 *
 * A line (without its newline) is split in place: fields separated by commas, a field may be quoted
 * ("a, b"; "" inside quotes is one "), no newline inside a field.
 */
#ifndef JP_CSV_H
#define JP_CSV_H

/* Drop blanks (spaces, tabs) around each field, outside the quotes. */
#define JP_CSV_TRIM 1u

/* What went wrong (negative returns of jp_csv_split). */
#define JP_CSV_TOO_MANY (-1)     /* more than max fields */
#define JP_CSV_UNTERMINATED (-2) /* a quoted field without its closing quote */
#define JP_CSV_AFTER_QUOTE (-3)  /* something other than a comma after a closing quote */

/* Splits line in place into at most max fields (pointers into line); returns how many, or one of the
 * negative codes above. An empty line is one empty field. */
int jp_csv_split(char *line, char **fields, int max, unsigned flags);

/* The problem in words ("unterminated quoted field"), for a message naming the file and line. */
const char *jp_csv_strerror(int code);

#endif
