# Runs one async job and writes its result (async_job.rs sets __limit, __strip, __ran, __nstop
# and __stop_N/__res_N above). $1 is the job's status file, $2 its id. Like Ansible's
# async_wrapper: the job runs in a process group of its own, and a watcher checks it every
# 5 seconds (half the limit when that is shorter) and kills the whole group once the limit
# is used up, leaving `{"msg": "Timeout exceeded", "failed": true, "child_pid": N}`.
__f=$1
__jid=$2

__now() { date '+%s%6N %Y-%m-%d %H:%M:%S.%6N'; }

# A file's text as the inside of a JSON string; trailing newlines dropped when __strip is 1.
__esc() {
    __nl=0
    if [ "$__strip" = 0 ] && [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' \n')" = 0a ]; then
        __nl=1
    fi
    awk -v strip="$__strip" -v nl="$__nl" '
        function esc(s,    i, c, o, n) {
            o = ""; n = length(s)
            for (i = 1; i <= n; i++) {
                c = substr(s, i, 1)
                if (c == "\\") o = o "\\\\"
                else if (c == "\"") o = o "\\\""
                else if (c == "\t") o = o "\\t"
                else if (c == "\r") o = o "\\r"
                else if (c in ord) o = o sprintf("\\u%04x", ord[c])
                else o = o c
            }
            return o
        }
        function out(l) { printf "%s%s", (n++ ? "\\n" : ""), l }
        BEGIN { for (i = 1; i < 32; i++) if (i != 9 && i != 10 && i != 13) ord[sprintf("%c", i)] = i }
        {
            l = esc($0)
            if (strip && l == "") { pend++; next }
            for (; pend > 0; pend--) out("")
            out(l)
        }
        END { if (nl) printf "\\n" }
    ' "$1"
}

__write() { printf '%s' "$1" > "$__f.tmp" && mv -f "$__f.tmp" "$__f"; }

__t0=$(__now)
# The job's files are private; the job itself runs with the umask Ansible's daemon sets.
(umask 022 && exec setsid sh "$__f.sh" <"$__f.in" >"$__f.out" 2>"$__f.err") &
__pid=$!

(
    __step=50
    __left=$((__limit * 10))
    if [ "$__left" -ne 0 ] && [ "$__step" -ge "$__left" ]; then __step=$((__left / 2)); fi
    __nap="$((__step / 10)).$((__step % 10))"
    sleep "$__nap"
    while :; do
        __left=$((__left - __step))
        if [ "$__left" -le 0 ]; then
            # Whoever makes the claim directory first writes the job's last word: the job
            # may end just as its time runs out, and then its own result stands (and the
            # job's side stops this watcher).
            mkdir "$__f.claim" 2>/dev/null || exit 0
            kill -9 -"$__pid" 2>/dev/null
            sleep 1
            __write "{\"msg\": \"Timeout exceeded\", \"failed\": true, \"child_pid\": $__pid}"
            rm -f "$__f.sh" "$__f.in" "$__f.out" "$__f.err" "$__f.run"
            rmdir "$__f.claim"
            exit 0
        fi
        sleep "$__nap"
    done
) </dev/null >/dev/null 2>&1 &
__wpid=$!

wait "$__pid"
__rc=$?
mkdir "$__f.claim" 2>/dev/null || exit 0
kill "$__wpid" 2>/dev/null
__t1=$(__now)
__res=
__i=1
if [ "$(wc -c < "$__f.out")" -lt 200 ]; then
    __o=$(cat "$__f.out")
    while [ "$__i" -le "$__nstop" ]; do
        eval "__s=\$__stop_$__i"
        if [ "$__o" = "$__s" ]; then
            eval "__res=\$__res_$__i"
            break
        fi
        __i=$((__i + 1))
    done
fi
if [ -n "$__res" ]; then
    __write "$__res"
else
    __us0=${__t0%% *}
    __us1=${__t1%% *}
    __us=$((__us1 - __us0))
    __delta=$(printf '%d:%02d:%02d.%06d' $((__us / 3600000000)) $((__us / 60000000 % 60)) \
        $((__us / 1000000 % 60)) $((__us % 1000000)))
    if [ "$__rc" -eq 0 ]; then __msg= __failed=false; else __msg='non-zero return code' __failed=true; fi
    {
        printf '%s"rc": %d, "start": "%s", "end": "%s", "delta": "%s", "msg": "%s", "failed": %s, "stdout": "' \
            "$__ran" "$__rc" "${__t0#* }" "${__t1#* }" "$__delta" "$__msg" "$__failed"
        __esc "$__f.out"
        printf '", "stderr": "'
        __esc "$__f.err"
        printf '"}'
    } > "$__f.tmp" && mv -f "$__f.tmp" "$__f"
fi
rm -f "$__f.sh" "$__f.in" "$__f.out" "$__f.err" "$__f.run"
rmdir "$__f.claim"
