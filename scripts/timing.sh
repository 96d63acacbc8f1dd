# Wall and CPU time of each step of a script, and a table of them at the end. Sourced by
# scripts/setup.sh and scripts/steps.sh. CPU is user+sys of the commands a step ran (bash's
# `times`, so it works wherever bash does); on a shared machine wall time grows with the load and
# CPU time does not, so the table gives both, with the load average at the start and the end.
#
#   timing_begin "name"; ...commands...; timing_end "result"   # one row
#   timing_table "title"                                       # the table, markdown
#
# The rows also go to $TIMING_LOG when it is set (tab-separated: name, result, wall s, CPU s), so a
# caller can gather the rows of nested scripts (scripts/measure-setup.sh does).

timing_rows=()
timing_started_ms=0
timing_started_cpu_ms=0
timing_first_load=""
timing_name=""
timing_times_file="$(mktemp "${TMPDIR:-/tmp}/timing.XXXXXX")"
trap 'rm -f "$timing_times_file"' EXIT

# Milliseconds since the epoch (`date +%s%N` is GNU; elsewhere, whole seconds).
timing_now_ms() {
    local ns
    ns="$(date +%s%N 2>/dev/null)"
    if [[ "$ns" =~ ^[0-9]+$ ]]; then
        echo $((ns / 1000000))
    else
        echo $(($(date +%s) * 1000))
    fi
}

# Sets timing_cpu to the user+sys milliseconds of every child this shell has waited for. `times`
# must run in this shell, not in a subshell such as $(...) (a fork starts with zero times), hence a
# variable and a file rather than output.
timing_cpu=0
timing_read_cpu() {
    times >"$timing_times_file"
    local line field minutes seconds
    line="$(sed -n 2p "$timing_times_file")" # children: "0m1.234s 0m0.056s"
    timing_cpu=0
    for field in $line; do
        minutes="${field%%m*}"
        seconds="${field#*m}"
        seconds="${seconds%s}"
        timing_cpu=$((timing_cpu + minutes * 60000 + $(timing_seconds_to_ms "$seconds")))
    done
}

# "12.345" or "12,345" (a decimal comma in some locales) -> 12345
timing_seconds_to_ms() {
    local whole="${1%%[.,]*}" fraction="000"
    [[ "$1" == *[.,]* ]] && fraction="${1#*[.,]}000"
    echo $((10#$whole * 1000 + 10#${fraction:0:3}))
}

timing_load() {
    cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*load averages*: *//'
}

timing_format_ms() {
    printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100))
}

timing_begin() {
    timing_name="$1"
    [[ -n "$timing_first_load" ]] || timing_first_load="$(timing_load)"
    timing_started_ms="$(timing_now_ms)"
    timing_read_cpu
    timing_started_cpu_ms=$timing_cpu
}

# timing_end RESULT: records the row of the step begun last and prints "    RESULT (wall s, CPU s)".
timing_end() {
    local wall cpu
    wall=$(($(timing_now_ms) - timing_started_ms))
    timing_read_cpu
    cpu=$((timing_cpu - timing_started_cpu_ms))
    timing_rows+=("$timing_name"$'\t'"$1"$'\t'"$wall"$'\t'"$cpu")
    printf '    %s (%s s, CPU %s s)\n' "$1" "$(timing_format_ms "$wall")" "$(timing_format_ms "$cpu")"
    if [[ -n "${TIMING_LOG:-}" ]]; then
        printf '%s\t%s\t%s\t%s\n' "$timing_name" "$1" "$(timing_format_ms "$wall")" \
            "$(timing_format_ms "$cpu")" >>"$TIMING_LOG"
    fi
}

# timing_table TITLE: every row so far, a total, and the load average at the start and the end.
timing_table() {
    local row name result wall cpu total_wall=0 total_cpu=0
    printf '\n%s (load average at start %s, at end %s; CPU = user+sys)\n\n' \
        "$1" "${timing_first_load:-$(timing_load)}" "$(timing_load)"
    printf '| %-44s | %-24s | %8s | %8s |\n' "step" "result" "wall s" "CPU s"
    printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..26})" \
        "$(printf -- '-%.0s' {1..9}):" "$(printf -- '-%.0s' {1..9}):"
    for row in "${timing_rows[@]}"; do
        IFS=$'\t' read -r name result wall cpu <<<"$row"
        printf '| %-44s | %-24s | %8s | %8s |\n' "$name" "${result:0:24}" \
            "$(timing_format_ms "$wall")" "$(timing_format_ms "$cpu")"
        total_wall=$((total_wall + wall))
        total_cpu=$((total_cpu + cpu))
    done
    printf '| %-44s | %-24s | %8s | %8s |\n' "total" "" \
        "$(timing_format_ms "$total_wall")" "$(timing_format_ms "$total_cpu")"
}
