#!/bin/sh
# Writes the manual page jouleprint(1) from the tool's own --help texts, so that the page never says
# other than the tool: the overview (`jouleprint --help`) as DESCRIPTION, then one subsection per
# subcommand (`jouleprint CMD --help`), in the overview's order.
#
#   tools/gen_man.sh path/to/jouleprint VERSION OUT.1
set -eu
cli=$1
version=$2
out=$3

# roff: a backslash is written \e, a hyphen \- (so options copy as typed), and a line that starts
# with . or ' is protected with \&.
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }

overview=$("$cli" --help)
# the subcommands: "  name   summary" lines of the overview's list
cmds=$(printf '%s\n' "$overview" | awk '/^usage:/ { list = 1; next } list && /^  [a-z][a-z-]*  / { print $1; seen = 1; next } seen && /^$/ { exit }')
[ -n "$cmds" ] || { echo "gen_man.sh: no subcommands found in '$cli --help'" >&2; exit 1; }
summary=$(printf '%s\n' "$overview" | head -n 1 | sed -e 's/^[^:]*: *//')

tmp="$out.tmp"
{
    printf '.TH JOULEPRINT 1 "" "jouleprint %s" "User Commands"\n' "$version"
    printf '.SH NAME\njouleprint \\- %s\n' "$(printf '%s' "$summary" | roff)"
    printf '.SH SYNOPSIS\n.B jouleprint\n.I command\n.RI [ options ]\n.br\n.B jouleprint\n.I command\n.B \\-\\-help\n'
    printf '.SH DESCRIPTION\n.nf\n'
    printf '%s\n' "$overview" | roff
    printf '.fi\n.SH COMMANDS\n'
    for c in $cmds; do
        printf '.SS "jouleprint %s"\n.nf\n' "$(printf '%s' "$c" | roff)"
        "$cli" "$c" --help | roff
        printf '.fi\n'
    done
    printf '.SH SEE ALSO\n'
    printf 'The C libraries and their headers: jouleprint.h, jouleprint/workloads.h, jouleprint/bench.h\n'
    printf '(pkg\\-config jouleprint, jouleprint\\-workloads, jouleprint\\-bench).\n'
} >"$tmp"
mv "$tmp" "$out"
