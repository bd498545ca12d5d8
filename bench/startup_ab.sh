#!/bin/sh
# `jouleprint stat -- true` of two builds, A/B in alternating windows: CPU (perf's task-clock) and page
# faults, each build run with LD_LIBRARY_PATH naming its own folder (a build's RUNPATH is absolute).
#   bench/startup_ab.sh BEFORE_BUILD AFTER_BUILD [WINDOWS]     (each folder holds jouleprint and its libraries)
# Prints one line per window and build: "before|after WINDOW task-clock-ms page-faults", then /bin/true's.
set -eu
B=$1 A=$2 n=${3:-6}
for w in $(seq "$n"); do
    for k in before after; do
        d=$B
        [ "$k" = after ] && d=$A
        LD_LIBRARY_PATH=$d perf stat -r 20 -x, -o /dev/stdout -e task-clock,page-faults "$d/jouleprint" stat -- true 2>/dev/null |
            awk -F, -v k="$k" -v w="$w" '$3 == "task-clock" { t = $1 } $3 == "page-faults" { f = $1 } END { print k, w, t, f }'
    done
done
perf stat -r 20 -x, -o /dev/stdout -e task-clock,page-faults /bin/true |
    awk -F, '$3 == "task-clock" { t = $1 } $3 == "page-faults" { f = $1 } END { print "true", t, f }'
