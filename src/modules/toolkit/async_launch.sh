# Launches one async job, detached from this connection (async_job.rs sets __dir, __jid,
# __job, __runner and __stdin above). The job's files sit beside its status file
# `$__dir/$__jid`, which holds Ansible's `{"started": true, "finished": false, ...}` until
# the runner replaces it with the job's result.
umask 077
if ! mkdir -p "$__dir" 2>/dev/null; then
    printf 'mkdir %s\n' "$__dir"
    exit 0
fi
__jid="$__jid.$$"
__f="$__dir/$__jid"
printf '%s' "$__job" > "$__f.sh"
printf '%s' "$__runner" > "$__f.run"
if [ "$__stdin" = 1 ]; then cat > "$__f.in"; else : > "$__f.in"; fi
printf '{"started": true, "finished": false, "ansible_job_id": "%s"}' "$__jid" > "$__f.tmp" &&
    mv -f "$__f.tmp" "$__f"
# A session of its own: the job outlives this channel, strata and a dropped connection.
setsid sh "$__f.run" "$__f" "$__jid" </dev/null >/dev/null 2>&1 &
printf 'started %s %s\n' "$__jid" "$__f"
